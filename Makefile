# Two set-up commands work on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared

.PHONY: install demo test test-fast bench rule-index clean

install: $(VENV)/.installed

# torch is pinned only when missing, so users and CI keep whatever build they have;
# 2.13.0 is the CPU build that lies on local disk on these machines.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: install
	$(VENV)/bin/pretrain-doctor check fixtures/demo --fail-on never
	$(VENV)/bin/pretrain-doctor plan fixtures/demo/pretrain-gpt2.yaml
	$(VENV)/bin/pretrain-doctor explain PD105

test: install
	# one torch thread per worker: two workers on two cores would otherwise oversubscribe
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 --dist loadgroup tests

test-fast: install
	$(PY) -m pytest -q -x -m "not slow" tests

bench: install
	$(PY) benchmarks/check_startup.py
	$(PY) benchmarks/monitor_overhead.py
	$(PY) benchmarks/replay_scan.py

rule-index: install
	$(PY) -m pretrain_doctor.docs.rule_index --write README.md

clean:
	rm -rf $(VENV) build dist *.egg-info
