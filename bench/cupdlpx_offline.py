"""cuPDLPx 0.3.0's source, patched to build with no network (bench/gpu_wheels.sh runs it).

Its CMake fetches PSLP, its presolve, from GitHub at configure time; the GPU machine this
project is lent reaches no network, so the build would fail there and every GPU test skip.
econplan never asks for cuPDLPx's presolve (``Presolve=False``: a warm start and the duals
must stay in the problem's own space), so PSLP is taken out: its CMake declarations, its
headers, and the presolve functions, which now end the process with a message should they
ever be called. Checked here only as far as a machine without cuBLAS can: the patched
presolve compiles against the package's headers (gcc -fsyntax-only); the CUDA build is the
device's to show.

Usage: python bench/cupdlpx_offline.py SDIST OUT  (SDIST: cupdlpx-0.3.0.tar.gz; OUT: the
patched .tar.gz)
"""

from __future__ import annotations

import re
import sys
import tarfile
import tempfile
from pathlib import Path

STUB = r"""/* cuPDLPx built without PSLP (econplan's bench/cupdlpx_offline.py): no presolve */
#include "presolve.h"
#include <stdio.h>
#include <stdlib.h>
static void no_pslp(void)
{
    fprintf(stderr, "cuPDLPx was built without PSLP: presolve is not available\n");
    exit(EXIT_FAILURE);
}
cupdlpx_presolve_info_t *pslp_presolve(const lp_problem_t *p, const pdhg_parameters_t *q)
{
    (void)p; (void)q; no_pslp(); return NULL;
}
cupdlpx_result_t *create_result_from_presolve(const cupdlpx_presolve_info_t *i,
                                              const lp_problem_t *p)
{
    (void)i; (void)p; no_pslp(); return NULL;
}
void pslp_postsolve(const cupdlpx_presolve_info_t *i, cupdlpx_result_t *r, const lp_problem_t *p)
{
    (void)i; (void)r; (void)p; no_pslp();
}
void cupdlpx_presolve_info_free(cupdlpx_presolve_info_t *i) { free(i); }
"""


def replaced(text: str, old: str, new: str, where: Path) -> str:
    if text.count(old) != 1:
        raise SystemExit(f"{where}: expected one {old!r}; another cuPDLPx version? (0.3.0 only)")
    return text.replace(old, new)


def patch(root: Path) -> None:
    path = root / "CMakeLists.txt"
    text = path.read_text()
    start = text.index("# 2. PSLP Configuration")
    end = text.index("target_compile_definitions(cupdlpx_compile_flags INTERFACE PSLP_VERSION")
    text = text[:start] + 'set(PSLP_VERSION_TAG "none")\n' + text[end:]
    path.write_text(text.replace("    PUBLIC PSLP\n", ""))
    path = root / "python_bindings" / "CMakeLists.txt"
    path.write_text(re.sub(r"install\(TARGETS PSLP.*?\)\n", "", path.read_text(), flags=re.S))
    path = root / "include" / "cupdlpx_types.h"
    path.write_text(replaced(path.read_text(), '#include "PSLP_stats.h"\n', "", path))
    path = root / "internal" / "presolve.h"
    text = replaced(
        path.read_text(),
        '#include "PSLP_API.h"\n#include "PSLP_stats.h"\n',
        "#include <stdbool.h>\n"
        "typedef struct Presolver Presolver;\n"
        "typedef struct Settings Settings;\n",
        path,
    )
    text = replaced(
        text, "    const char *get_presolve_status_str(enum PresolveStatus_ status);\n", "", path
    )
    path.write_text(text)
    (root / "src" / "presolve.c").write_text(STUB)


def main() -> None:
    sdist, out = Path(sys.argv[1]), Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(sdist) as archive:
            archive.extractall(scratch, filter="data")
        (root,) = Path(scratch).iterdir()
        patch(root)
        with tarfile.open(out, "w:gz") as archive:
            archive.add(root, arcname=root.name)


if __name__ == "__main__":
    main()
