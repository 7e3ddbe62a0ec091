#!/usr/bin/env bash
# Run here, before a session's device check (bench/gpu_check.sh): fetches into .whl/ what
# econplan needs on the lent GPU machine and its image lacks. That machine reaches no
# network; it has Python 3.12 with numpy, scipy, pandas, pyarrow, click, rich, jinja2,
# httpx, pytest and hypothesis, CUDA's compiler and CMake (/work/.library/device/KINDS.md),
# so this is the rest of econplan's dependencies as Python 3.12 wheels (about 40 MB; a call
# carries 64 MiB) and cuPDLPx's source, which the device builds (patched to build offline:
# bench/cupdlpx_offline.py). .whl/ is ignored by git
# here (.git/info/exclude) and named in the run's carry.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl && mkdir .whl
# the dependencies the device image lacks (pip's resolution of `pip install -e .` against
# that image, 2026-11-30), pinned as this project's own environment has them where it has
# them
WHEELS=(
  alembic==1.20.1 argon2-cffi==25.1.0 argon2-cffi-bindings==26.2.0 cffi==2.1.1
  pycparser==3.12 fastapi==0.165.0 starlette==1.10.0 annotated-doc==0.0.7 pydantic==2.14.4
  pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 highspy==1.16.0
  openpyxl==3.1.5 et-xmlfile==2.0.0 plotly==7.1.0 psycopg==3.3.9 psycopg-binary==3.3.9
  python-multipart==0.0.34 sqlalchemy==2.1.9 mako==1.4.3 tomli-w==1.2.0 uvicorn==0.54.0
  dask==2026.8.0 distributed==2026.8.0 partd==1.4.2 locket==1.0.0 tblib==3.2.2
  tornado==6.6.1 zict==3.0.0 opentelemetry-api==1.45.2 setuptools==80.9.0
)
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_24_x86_64 --platform manylinux_2_5_x86_64 \
  --platform manylinux1_x86_64 --platform any -d .whl "${WHEELS[@]}"
python3 -m pip download --quiet --no-deps --no-binary=cupdlpx -d .whl cupdlpx==0.3.0
# its build fetches PSLP from GitHub, which the device cannot reach: patched to build without
python3 bench/cupdlpx_offline.py .whl/cupdlpx-0.3.0.tar.gz .whl/cupdlpx-0.3.0-offline.tar.gz
rm .whl/cupdlpx-0.3.0.tar.gz
git rev-parse HEAD > .whl/COMMIT  # the device's copy of the tree has no git
du -sh .whl
