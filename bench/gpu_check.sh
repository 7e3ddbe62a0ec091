#!/usr/bin/env bash
# The device check, on a lent GPU machine, as one prepared run (the device tool's `run`):
#
#   bash bench/gpu_wheels.sh                      # here, first: fills .whl/ (about 30 MB)
#   run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=560)
#
# It installs econplan and what the machine's image lacks from the carried wheels, builds
# cuPDLPx from its source (patched to build offline, bench/cupdlpx_offline.py) for the H200
# (sm_90 alone: every architecture takes many times longer), then (1) runs the tests that
# need a GPU: tests/test_gpu.py, and the oracle and first-order tests on the cupdlpx backend,
# and (2) the plan benchmark side by side, simplex against cuPDLPx then simplex, on
# generated economies (bench/methods.py). What comes back, in $OUT: device.txt (the GPU, the
# CUDA libraries and tools the build needs, whether it built), build.log, tests.log,
# bench.log and methods-gpu.md and .json (rewritten after each case, so a run stopped early
# still returns the cases done). Each step has its own timeout (install about 30 s, build 150,
# tests 120, benchmark 200): a slow one leaves the others their time, and the whole stays
# under the run's 560 s.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
export ECONPLAN_COMMIT
ECONPLAN_COMMIT="$(cat .whl/COMMIT 2>/dev/null || echo unknown)"  # the tree it was copied at
{
  nvidia-smi -L
  echo "commit: $ECONPLAN_COMMIT"
  python3 --version
  nvcc --version | tail -2
  cmake --version | head -1
  ls /usr/include/zlib.h 2>&1
  python3 -m pip list 2>/dev/null | grep -iE "^(numpy|scipy|pandas|cmake|pybind11|scikit.build.core|nvidia-cublas|nvidia-cusparse) "
  ldconfig -p | grep -E "libcublas\.so|libcusparse\.so" | head -4
} > "$OUT/device.txt" 2>&1
SITE=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target "$SITE" .whl/*.whl >> "$OUT/device.txt" 2>&1 || { echo "install failed" >> "$OUT/device.txt"; exit 1; }
export PYTHONPATH=$SITE
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir \
  --target "$SITE" . >> "$OUT/device.txt" 2>&1 || { echo "econplan install failed" >> "$OUT/device.txt"; exit 1; }
timeout 150 python3 -m pip install -v --no-index --no-deps --no-build-isolation \
  --no-cache-dir --target "$SITE" \
  --config-settings=cmake.define.CMAKE_CUDA_ARCHITECTURES=90 \
  .whl/cupdlpx-*-offline.tar.gz > "$OUT/build.log" 2>&1
echo "cuPDLPx build: exit $?" >> "$OUT/device.txt"
python3 -c "import cupdlpx; from econplan.plan import gpu; print('cuPDLPx', cupdlpx.__version__, 'available:', gpu.available(), gpu.missing())" \
  >> "$OUT/device.txt" 2>&1 || { echo "cuPDLPx does not import: see build.log" >> "$OUT/device.txt"; exit 1; }
# numpy and pandas there are newer than here: their new deprecations are not this check's
timeout 120 python3 -m pytest -v -p no:cacheprovider --durations=0 --timeout 60 \
  -W ignore::DeprecationWarning -W ignore::FutureWarning \
  tests/test_gpu.py tests/test_firstorder.py tests/test_plan.py -k "gpu or cupdlpx" \
  > "$OUT/tests.log" 2>&1
echo "tests: exit $?" >> "$OUT/device.txt"
mkdir -p bench/results
for kind in json md; do ln -sf "$OUT/methods-gpu.$kind" "bench/results/methods-gpu.$kind"; done
timeout 200 python3 bench/methods.py --sizes 300 1000 3000 --methods simplex cupdlpx \
  --limit 45 --margin 10 --budget 190 --name methods-gpu > "$OUT/bench.log" 2>&1
echo "benchmark: exit $?" >> "$OUT/device.txt"
exit 0
