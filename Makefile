# Two set-up commands work on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
# The test environment, pinned for CPython 3.11 on Linux x86-64 (`make lock` refreshes it).
LOCK := requirements-test.lock
# torch is pinned only when missing, so users and CI keep whatever build they have;
# 2.13.0 is the CPU build that lies on local disk on these machines. The lock leaves
# torch out (its CPU build's own dependencies are in it), so pip never fetches another one.
TORCH_PIN := torch==2.13.0
# A folder holding the torch 2.13.0+cpu wheel; `make lock` resolves against it so that
# no nvidia-* CUDA packages enter the lock.
TORCH_WHEELS ?= /opt/wheels
UV := uv==0.13.9
# setuptools notes that an editable install of a package with a mapped folder
# (rules/ -> pretrain_doctor.builtin_rules) uses an import finder; information, not a fault.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"
# No download caches: they double what an install writes, and a CI machine can be short of disk
# (a landing once failed with "No space left on device" while installing the lock).
export PIP_NO_CACHE_DIR := 1
export UV_NO_CACHE := 1

.PHONY: install demo test test-fast test-latest test-oldest test-deepspeed lock lock-upgrade bench rule-index docs dist clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -r $(LOCK)
	$(QUIET_EDITABLE) $(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# The three uses: check the demo configs; train one of them tiny on the CPU with an lr spike
# injected at step 25, which the monitor catches live; the run ends with its post-mortem.
DEMO_RUN := runs/demo
demo: install
	$(VENV)/bin/pretrain-doctor check fixtures/demo --fail-on never
	rm -rf $(DEMO_RUN)
	$(VENV)/bin/pretrain-doctor train fixtures/demo/pretrain-gpt2.yaml --scale tiny --steps 40 \
	    --inject lr_spike@25 --out $(DEMO_RUN)
	@echo "The run: $(DEMO_RUN)/ (doctor.jsonl, TensorBoard, report.html); replay it: $(VENV)/bin/pretrain-doctor replay $(DEMO_RUN)"

test: install
	# one torch thread per worker: two workers on two cores would otherwise oversubscribe
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 --dist loadgroup tests

test-fast: install
	$(PY) -m pytest -q -x -m "not slow" tests

# The newest versions pyproject allows (torch still the pinned CPU build), in their own venv.
test-latest:
	test -x .venv-latest/bin/python || python3 -m venv .venv-latest
	.venv-latest/bin/python -m pip install -q --upgrade pip
	.venv-latest/bin/python -c "import torch" 2>/dev/null || .venv-latest/bin/python -m pip install -q $(TORCH_PIN)
	echo "$(TORCH_PIN)" > .venv-latest/torch-pin.txt
	$(QUIET_EDITABLE) .venv-latest/bin/python -m pip install -q --upgrade --upgrade-strategy eager -c .venv-latest/torch-pin.txt -e '.[dev]'
	OMP_NUM_THREADS=1 .venv-latest/bin/python -m pytest -q -n 2 --dist loadgroup tests

# The monitor on real DeepSpeed, on the CPU (tests/deepspeed, which `make test` skips without it),
# in its own venv: the pinned CPU torch first, then DeepSpeed built against it
# (--no-build-isolation, so that pip does not pull a CUDA torch to build it).
DEEPSPEED_PIN := deepspeed==0.19.8
test-deepspeed:
	test -x .venv-deepspeed/bin/python || python3 -m venv .venv-deepspeed
	.venv-deepspeed/bin/python -m pip install -q --upgrade pip
	.venv-deepspeed/bin/python -c "import torch" 2>/dev/null || .venv-deepspeed/bin/python -m pip install -q $(TORCH_PIN)
	.venv-deepspeed/bin/python -m pip install -q -r $(LOCK)
	$(QUIET_EDITABLE) .venv-deepspeed/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	.venv-deepspeed/bin/python -m pip install -q --no-build-isolation $(DEEPSPEED_PIN)
	OMP_NUM_THREADS=1 .venv-deepspeed/bin/python -m pytest -q tests/deepspeed

# The oldest versions pyproject allows for our direct dependencies (torch still the pinned
# CPU build; what they pull in resolves newest), in their own venv.
test-oldest:
	test -x .venv-oldest/bin/python || python3 -m venv .venv-oldest
	.venv-oldest/bin/python -m pip install -q --upgrade pip $(UV)
	echo "torch==2.13.0+cpu" > .venv-oldest/torch-cpu.txt
	.venv-oldest/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --resolution lowest-direct \
	    --find-links $(TORCH_WHEELS) -c .venv-oldest/torch-cpu.txt --no-emit-package torch -q -o .venv-oldest/oldest.txt
	.venv-oldest/bin/python -c "import torch" 2>/dev/null || .venv-oldest/bin/python -m pip install -q $(TORCH_PIN)
	.venv-oldest/bin/python -m pip install -q -r .venv-oldest/oldest.txt
	$(QUIET_EDITABLE) .venv-oldest/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	OMP_NUM_THREADS=1 .venv-oldest/bin/python -m pytest -q -n 2 --dist loadgroup tests

# Refresh the lock after a dependency change in pyproject.toml (needs the torch CPU wheel in
# TORCH_WHEELS): pins already in the lock stay where pyproject still allows them, so adding one
# dependency moves nothing else. `make lock-upgrade` moves every pin to the newest allowed.
LOCK_UPGRADE ?=
lock:
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q $(UV)
	echo "torch==2.13.0+cpu" > $(VENV)/torch-cpu.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 $(LOCK_UPGRADE) \
	    --find-links $(TORCH_WHEELS) -c $(VENV)/torch-cpu.txt --no-emit-package torch \
	    --custom-compile-command "make lock" -q -o $(LOCK)

lock-upgrade:
	$(MAKE) lock LOCK_UPGRADE=--upgrade

bench: install
	$(PY) benchmarks/check_startup.py
	$(PY) benchmarks/monitor_overhead.py
	$(PY) benchmarks/replay_scan.py

rule-index: install
	$(PY) -m pretrain_doctor.docs.rule_index --write README.md

# The documentation site (mkdocs.yml; pages generated from the code by docs/hooks.py) in build/site/.
docs: install
	$(VENV)/bin/mkdocs build --strict

# The release files: sdist and wheel in dist/, checked as PyPI will (build without isolation:
# setuptools comes from the lock).
dist: install
	rm -rf dist
	$(PY) -m build --no-isolation -o dist .
	$(PY) -m twine check --strict dist/*

clean:
	rm -rf $(VENV) build dist *.egg-info
