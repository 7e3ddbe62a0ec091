"""How long generating, writing and loading a large economy takes, and how much memory.

    .venv/bin/python bench/scale.py [N ...] [--inputs 20] [--out bench/results/scale.md]

For each N (default 10^4, 10^5, 10^6 products) it generates a synthetic economy with
``--inputs`` inputs per process, writes it as Parquet and loads it back (with full
validation), each stage in a process of its own so that the peak resident memory it reports
is that stage's alone (the write stage includes generating the economy it writes). The
baseline in the same run is the CSV format, at the sizes where CSV is practical. Figures go
to the terminal and, as a Markdown table, to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CSV_LIMIT = 100_000
"""Largest economy the CSV baseline is run for: beyond it CSV takes minutes."""


def stage(name: str, n: int, inputs: int, path: Path) -> dict[str, Any]:
    """Run one stage in this process; its figures as a dict."""
    from econplan import load_economy, write_economy
    from econplan.generate import generate_economy

    start = time.perf_counter()
    if name == "generate":
        generate_economy(n, inputs, regions=10, seed=0)
    elif name.startswith("write"):
        economy = generate_economy(n, inputs, regions=10, seed=0)
        start = time.perf_counter()
        write_economy(economy, path, table_format=name.split("-")[1])  # type: ignore[arg-type]
    elif name == "load":
        economy = load_economy(path)
        assert economy.counts()["processes"] == n
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"stage": name, "seconds": round(seconds, 2), "peak_gib": round(peak, 2)}


def run_stage(name: str, n: int, inputs: int, path: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--stage", name, "--inputs", str(inputs), str(n)]
    command += ["--path", str(path)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def size_mb(folder: Path, suffix: str) -> tuple[float, float]:
    """Total size of the folder's table files and of process_io alone, in MB."""
    files = list(folder.glob(f"*{suffix}"))
    total = sum(f.stat().st_size for f in files) / 1e6
    return total, (folder / f"process_io{suffix}").stat().st_size / 1e6


def measure(n: int, inputs: int, scratch: Path) -> list[dict[str, Any]]:
    rows = []
    formats = ["parquet", "csv"] if n <= CSV_LIMIT else ["parquet"]
    generated = run_stage("generate", n, inputs, scratch / "unused")
    for table_format in formats:
        path = scratch / f"economy-{n}-{table_format}"
        write = run_stage(f"write-{table_format}", n, inputs, path)
        load = run_stage("load", n, inputs, path)
        total, io = size_mb(path, "." + table_format)
        rows.append(
            {
                "products": n,
                "coefficients": n * (inputs + 2),
                "format": table_format,
                "generate_s": generated["seconds"],
                "generate_gib": generated["peak_gib"],
                "write_s": write["seconds"],
                "write_gib": write["peak_gib"],
                "load_s": load["seconds"],
                "load_gib": load["peak_gib"],
                "files_mb": round(total, 1),
                "process_io_mb": round(io, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: list[dict[str, Any]], inputs: int) -> str:
    header = (
        "| products | format | generate s (GiB) | write s (GiB) | load s (GiB) "
        "| files MB | process_io MB |"
    )
    lines = [
        f"# Scale: synthetic economies with {inputs} inputs per process",
        "",
        "Made by `bench/scale.py`; peak resident memory of each stage in parentheses (the "
        "write stage includes generating the economy). Load is `econplan.load_economy`, "
        "full validation included.",
        "",
        header,
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['products']:,} | {r['format']} | {r['generate_s']} ({r['generate_gib']}) "
            f"| {r['write_s']} ({r['write_gib']}) | {r['load_s']} ({r['load_gib']}) "
            f"| {r['files_mb']} | {r['process_io_mb']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "scale.md")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.sizes[0], args.inputs, args.path)))
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="econplan-scale-") as scratch:
        for n in args.sizes:
            rows += measure(n, args.inputs, Path(scratch))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(rows, args.inputs), encoding="utf-8")
    print(markdown(rows, args.inputs))


if __name__ == "__main__":
    main()
