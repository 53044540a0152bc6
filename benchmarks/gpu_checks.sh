#!/usr/bin/env bash
# The monitor's checks on a CUDA GPU (issue 14), as one run that fits a short lease:
# the CUDA tests, the fixed cost per step and the GPT-2 overhead in wall time, then the
# monitor's and real loops' suites with CUDA visible. Results go to $OUT (default
# /tmp/gpu-checks), one file per part; benchmarks/RESULTS.md keeps what they gave.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_checks.sh          # the image's python3 has torch
#   PYTHON=.venv/bin/python bash benchmarks/gpu_checks.sh
#
# Wheels of packages the image lacks (pydantic, datasketch) may lie in .whl/.
set -u
OUT=${OUT:-/tmp/gpu-checks}
PY=${PYTHON:-python3}
BUDGET=${BUDGET:-540}  # seconds for the whole run; the last part gets what is left
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
[ -e pretrain_doctor/builtin_rules ] || ln -s ../rules pretrain_doctor/builtin_rules  # what the install maps

part() {  # part NAME SECONDS COMMAND...: run, keep its output in $OUT/NAME.txt
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s, at ${SECONDS}s)"
    timeout -k 5 "$limit" "$@" >"$OUT/$name.txt" 2>&1
    echo "   exit $? after ${SECONDS}s"
    tail -n 25 "$OUT/$name.txt"
}

part versions 30 bash -c "nvidia-smi -L; $PY -c 'import sys, torch, transformers; print(sys.version.split()[0], \
\"torch\", torch.__version__, \"transformers\", transformers.__version__, torch.cuda.get_device_name())'"
part cuda_tests 240 env CUBLAS_WORKSPACE_CONFIG=:4096:8 $PY -m pytest -q -p no:cacheprovider -rs tests/monitor/test_cuda.py \
    tests/monitor/test_doctor_api.py::test_no_host_device_sync_between_sync_points_on_cuda
part profile 60 $PY benchmarks/monitor_overhead_cuda.py --profile
part fixed_cost 60 $PY benchmarks/monitor_overhead_cuda.py --fixed-cost
part small_overhead 90 $PY benchmarks/monitor_overhead_cuda.py --sizes small --repeats 40
part gpt2_overhead 150 $PY benchmarks/monitor_overhead_cuda.py --sizes gpt2 --repeats 15
left=$((BUDGET - SECONDS))
[ "$left" -gt 30 ] && part monitor_suite "$left" $PY -m pytest -q -p no:cacheprovider -n 8 -m "not slow" \
    tests/monitor tests/realloops
exit 0
