"""Benchmark: total requirements and output multipliers at 10^3 to 10^6 products.

Compares, in one run and on the same generated economies (20 inputs per product):

- econplan: ``total_output`` and ``output_multipliers`` (restarted GMRES on I - A and its
  transpose, checked by the true residual);
- pymrio's approach: the dense Leontief inverse ``pymrio.calc_L`` (numpy.linalg.inv), then
  L d and the column sums of L, as far as it fits in memory;
- scipy.sparse.linalg.spsolve (SuperLU) on I - A and its transpose;
- the plain Neumann series d + A d + A^2 d + ..., to the same residual.

Each method runs in a child process of its own, so that its peak memory (ru_maxrss from
wait4) is its own; times cover the computation only, not loading the matrix. The memory
bandwidth bound is what one sparse matrix-vector product must move (values, column indices,
row pointers, x and y) over the copy bandwidth measured in the same run.

Usage: python bench/leontief.py [--sizes 1000 10000 100000 1000000] [--out bench/results]
Writes bench/results/leontief.json and the table in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-10
DENSE_LIMIT_BYTES = 8 * 2**30
"""Largest dense matrix the pymrio approach may allocate (it needs about three)."""
CHILD_TIMEOUT = 600
SPSOLVE_TIMEOUT_LARGE = 300
"""SuperLU's fill-in on these cyclic structures grows far faster than n (at n = 10^4 it
already takes minutes): beyond 10^4 products it gets this long to show it cannot finish."""
CHILD_MEMORY = 20 * 2**30
METHODS = ("econplan", "pymrio", "spsolve", "neumann")


def residual(A: sp.csr_matrix, x: np.ndarray, d: np.ndarray, transpose: bool = False) -> float:
    product = A.T @ x if transpose else A @ x
    return float(np.linalg.norm(d - (x - product)) / np.linalg.norm(d))


def run_method(method: str, A: sp.csr_matrix, d: np.ndarray) -> dict[str, Any]:
    """Total output for d and output multipliers, timed; residuals recomputed afterwards."""
    from econplan.analysis.leontief import output_multipliers, total_output

    ones = np.ones(A.shape[0])
    info: dict[str, Any] = {}
    if method == "pymrio":
        import pymrio
    start = time.perf_counter()
    if method == "econplan":
        solved = total_output(A, d, tol=TOLERANCE)
        multipliers = output_multipliers(A, tol=TOLERANCE)
        x, m = solved.x, multipliers.x
        info["iterations"] = [solved.iterations, multipliers.iterations]
        info["methods"] = [solved.method, multipliers.method]
    elif method == "pymrio":
        L = pymrio.calc_L(A.toarray())
        x, m = L @ d, L.sum(axis=0)
    elif method == "spsolve":
        import scipy.sparse.linalg as spla

        M = sp.identity(A.shape[0], format="csc") - A.tocsc()
        x = spla.spsolve(M, d)
        m = spla.spsolve(sp.csc_matrix(M.T), ones)
    elif method == "neumann":
        x, iterations_x = neumann(A, d)
        m, iterations_m = neumann(sp.csr_matrix(A.T), ones)
        info["iterations"] = [iterations_x, iterations_m]
    else:
        raise ValueError(method)
    info["seconds"] = time.perf_counter() - start
    info["residual"] = max(residual(A, x, d), residual(A, m, ones, transpose=True))
    return info


def neumann(
    A: sp.csr_matrix, d: np.ndarray, max_iterations: int = 100_000
) -> tuple[np.ndarray, int]:
    """Partial sums of d + A d + A^2 d + ...; the residual of a partial sum is the next term."""
    x, term, norm = d.copy(), d.copy(), float(np.linalg.norm(d))
    for iteration in range(1, max_iterations + 1):
        term = A @ term
        if float(np.linalg.norm(term)) <= TOLERANCE * norm:
            return x, iteration
        x += term
    return x, max_iterations


def child(method: str, matrix: str, result: str) -> None:
    """Run one method in this process and write its figures to ``result``."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    A = sp.load_npz(matrix).tocsr()
    d = np.random.default_rng(1).random(A.shape[0])
    info = run_method(method, A, d)
    info["peak_bytes"] = peak_resident_bytes()
    Path(result).write_text(json.dumps(info))


def peak_resident_bytes() -> int:
    """This process's own high-water mark (VmHWM): unlike ru_maxrss it does not count the
    parent's memory that a fork copied before exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(method: str, matrix: Path, workdir: Path, timeout: float) -> dict[str, Any]:
    result = workdir / f"{method}.json"
    result.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--child", method, str(matrix), str(result)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = time.monotonic()
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > timeout:
            process.kill()
            os.wait4(process.pid, 0)
            return {"finished": False, "why": f"did not finish within {timeout:.0f} s"}
        time.sleep(0.05)
    peak = usage.ru_maxrss * 1024  # an upper bound, for a child that died before reporting
    if status != 0 or not result.exists():
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {status}"
        return {"finished": False, "why": last[:200], "peak_bytes": peak}
    info: dict[str, Any] = json.loads(result.read_text())
    info["finished"] = True
    return info


def copy_bandwidth(size_bytes: int = 2**30, repeats: int = 5) -> float:
    """Bytes per second that a large array copy moves (read plus write)."""
    source = np.ones(size_bytes // 8)
    target = np.empty_like(source)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * size_bytes / best


def spmv_bytes(A: sp.csr_matrix) -> int:
    n = A.shape[0]
    return int(A.data.nbytes + A.indices.nbytes + A.indptr.nbytes + 2 * 8 * n)


def spmv_seconds(A: sp.csr_matrix, repeats: int = 5) -> float:
    x = np.ones(A.shape[0])
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        A @ x
        best = min(best, time.perf_counter() - start)
    return float(best)


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def generate_matrix(n: int, inputs: int, seed: int) -> sp.csr_matrix:
    from econplan.generate import generate_economy
    from econplan.model.technology import technology_matrix

    economy = generate_economy(products=n, inputs=inputs, regions=2, seed=seed)
    return technology_matrix(economy).A


def benchmark(sizes: list[int], inputs: int, out: Path) -> dict[str, Any]:
    bandwidth = copy_bandwidth()
    runs = []
    with tempfile.TemporaryDirectory(prefix="econplan-bench-") as tmp:
        workdir = Path(tmp)
        for n in sizes:
            started = time.perf_counter()
            A = generate_matrix(n, inputs, seed=n)
            generated = time.perf_counter() - started
            matrix = workdir / f"A{n}.npz"
            sp.save_npz(matrix, A, compressed=False)
            bytes_moved = spmv_bytes(A)
            run: dict[str, Any] = {
                "n": n,
                "nnz": int(A.nnz),
                "generate_seconds": generated,
                "spmv_bytes": bytes_moved,
                "spmv_bound_seconds": bytes_moved / bandwidth,
                "spmv_seconds": spmv_seconds(A),
                "methods": {},
            }
            del A
            for method in METHODS:
                if method == "pymrio" and 3 * 8 * n * n > DENSE_LIMIT_BYTES:
                    needed = 3 * 8 * n * n / 2**30
                    run["methods"][method] = {
                        "finished": False,
                        "why": f"skipped: needs about {needed:,.0f} GiB",
                    }
                    continue
                print(f"n={n:>8} {method:9}", end=" ", flush=True)
                timeout = (
                    SPSOLVE_TIMEOUT_LARGE if method == "spsolve" and n > 10_000 else CHILD_TIMEOUT
                )
                figures = measure(method, matrix, workdir, timeout)
                run["methods"][method] = figures
                print(
                    f"{figures.get('seconds', float('nan')):9.3f} s"
                    if figures["finished"]
                    else figures["why"]
                )
            ours = run["methods"]["econplan"]
            if ours.get("finished"):
                spmvs = sum(ours["iterations"]) + 4  # initial and final residuals of two solves
                run["bound_seconds"] = spmvs * run["spmv_bound_seconds"]
                run["ratio_to_bound"] = ours["seconds"] / run["bound_seconds"]
                for method, figures in run["methods"].items():
                    if figures.get("finished") and method != "econplan":
                        figures["ratio_to_econplan"] = figures["seconds"] / ours["seconds"]
            runs.append(run)
    result = {
        "machine": machine(),
        "copy_bandwidth_bytes_per_second": bandwidth,
        "inputs": inputs,
        "tolerance": TOLERANCE,
        "runs": runs,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "leontief.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_bytes'] / 2**30:.0f} GiB; "
        f"Python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}. Copy bandwidth "
        f"{result['copy_bandwidth_bytes_per_second'] / 1e9:.1f} GB/s. Relative residual target "
        f"{result['tolerance']:g}; {result['inputs']} inputs per product.",
        "",
        "| n | nnz | method | seconds | peak memory | residual | time / econplan | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for method, f in run["methods"].items():
            if f.get("finished"):
                ratio = "1" if method == "econplan" else f"{f['ratio_to_econplan']:.1f}x"
                note = ""
                if method == "econplan":
                    note = (
                        f"{sum(f['iterations'])} iterations; {run['ratio_to_bound']:.1f}x the "
                        f"bandwidth bound of {run['bound_seconds'] * 1e3:.2f} ms (one SpMV: "
                        f"{run['spmv_seconds'] * 1e3:.3f} ms measured, "
                        f"{run['spmv_bound_seconds'] * 1e3:.3f} ms bound)"
                    )
                elif method == "neumann":
                    note = f"{sum(f['iterations'])} iterations"
                lines.append(
                    f"| {run['n']:,} | {run['nnz']:,} | {method} | {f['seconds']:.3f} | "
                    f"{f['peak_bytes'] / 2**30:.2f} GiB | {f['residual']:.1e} | {ratio} | {note} |"
                )
            else:
                peak = f"{f['peak_bytes'] / 2**30:.2f} GiB" if "peak_bytes" in f else ""
                lines.append(
                    f"| {run['n']:,} | {run['nnz']:,} | {method} | - | {peak} | - | - | "
                    f"{f['why']} |"
                )
    return "\n".join(lines) + "\n"


def update_docs(result: dict[str, Any], docs: Path) -> None:
    begin, end = "<!-- leontief-benchmark:begin -->", "<!-- leontief-benchmark:end -->"
    text = docs.read_text(encoding="utf-8") if docs.exists() else ""
    table = f"{begin}\n{markdown(result)}{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + table + text[text.index(end) + len(end) :]
    else:
        text += "\n" + table + "\n"
    docs.write_text(text, encoding="utf-8")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()
    result = benchmark(args.sizes, args.inputs, args.out)
    update_docs(result, args.docs)
    print(markdown(result))


if __name__ == "__main__":
    main()
