#!/usr/bin/env bash
# The device check, on a lent GPU machine, as one prepared run (the device tool's `run`):
#
#   bash bench/gpu_wheels.sh                      # here, first: fills .whl/ (about 30 MB)
#   run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=540)
#
# It installs econplan and what the machine's image lacks from the carried wheels, builds
# cuPDLPx from its source for the H200 (sm_90 alone: every architecture takes many times
# longer), then (1) runs the tests that need a GPU: tests/test_gpu.py, and the oracle and
# first-order tests on the cupdlpx backend, and (2) the plan benchmark side by side, simplex
# against cuPDLPx then simplex, on generated economies (bench/methods.py). What comes back
# is in $OUT: the device, the build's log, the tests' log, methods-gpu.md and .json, and each
# case's progress log. Budget (the run's 600 s at most): 3 minutes to install and build, 2
# for the tests, 4 for the benchmark, each step under its own timeout, so that a slow one
# leaves the others their time.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi -L | tee "$OUT/device.txt"
SITE=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SITE" .whl/*.whl || exit 1
export PYTHONPATH=$SITE
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir \
  --target "$SITE" . || exit 1
timeout 180 python3 -m pip install -v --no-index --no-deps --no-build-isolation \
  --no-cache-dir --target "$SITE" \
  --config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES=90 \
  .whl/cupdlpx-*.tar.gz > "$OUT/build.log" 2>&1
echo "cuPDLPx build: exit $?" | tee -a "$OUT/device.txt"
python3 -c "from econplan.plan import gpu; print('available:', gpu.available(), gpu.missing())" \
  2>&1 | tee -a "$OUT/device.txt"
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py \
  "tests/test_firstorder.py" "tests/test_plan.py" -k "gpu or cupdlpx" 2>&1 | tee "$OUT/tests.log"
timeout 240 python3 bench/methods.py --sizes 300 1000 3000 --methods simplex cupdlpx \
  --limit 60 --budget 230 --name methods-gpu 2>&1 | tail -40 | tee "$OUT/bench.log"
cp bench/results/methods-gpu.* "$OUT/" 2>/dev/null
exit 0
