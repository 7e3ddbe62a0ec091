"""A plan on disk: tidy Parquet tables (CSV copies on request), ``plan.json`` with the plan's
status, objectives, verification and targets, ``run.json`` with the run's timings, and for an
infeasible economy ``diagnosis.json``.

plan.json records the SHA-256 of every file it vouches for (``files``) and of itself
(``integrity``: its own canonical JSON without that key), and every read checks both: a table
or a figure changed after econplan wrote it, a file missing or added to the list, is refused
rather than read as the plan. (This catches edits and damage, not forgery: anyone can
recompute a hash. ``econplan verify`` re-checks the plan against its economy as well.)

The same economy gives the same plan.json and tables byte for byte; what differs from one run
to the next (seconds, the date) lives in run.json only, which vouches for nothing.

A folder is written whole and swapped in atomically (:mod:`econplan.io.replace`): a kill at
any moment leaves the old plan or the new one, and a folder that holds anything econplan did
not write is never replaced.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from econplan.io.replace import check_output_folder, write_folder
from econplan.plan.output import Plan, jsonable
from econplan.plan.plausibility import flag_frame

PLAN_FILE = "plan.json"
RUN_FILE = "run.json"
DIAGNOSIS_FILE = "diagnosis.json"
PLAUSIBILITY_FILE = "plausibility.json"
PLAUSIBILITY_CSV = "plausibility.csv"
FORMAT = "econplan plan 1"
"""plan.json's ``format``: what wrote it, and the version of its layout."""

_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,100}")
_FILE_NAME = re.compile(r"[a-z][a-z0-9_]{0,100}\.(parquet|csv|json)")


class PlanError(ValueError):
    """A folder that is not an intact plan written by econplan: the message names the file
    and says what to do."""


def _canonical(info: dict[str, Any]) -> bytes:
    body = {k: v for k, v in info.items() if k != "integrity"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd", write_statistics=False)


def write_plan(plan: Plan, directory: Path | str, csv: bool = False) -> Plan:
    """Write the plan into ``directory``, replacing an earlier plan there, all at once, and
    return it as written (its ``info`` with the checksums of plan.json).

    Raises OutputError (a UsageError) when ``directory`` holds anything but a plan, or cannot
    be written (a full disk): then the folder is left as it was."""
    directory = check_output_folder(Path(directory), plan_folder_problem)
    written: list[str] = []
    result: list[Plan] = []

    def fill(staging: Path) -> None:
        files: dict[str, str] = {}
        for name, frame in sorted(plan.tables.items()):
            _write_table(frame, staging / f"{name}.parquet")
            written.append(f"{name}.parquet")
            if csv:
                frame.to_csv(staging / f"{name}.csv", index=False, float_format="%.10g")
                written.append(f"{name}.csv")
        if plan.diagnosis is not None:
            (staging / DIAGNOSIS_FILE).write_text(
                json.dumps(plan.diagnosis, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            written.append(DIAGNOSIS_FILE)
        if plan.plausibility is not None:
            (staging / PLAUSIBILITY_FILE).write_text(
                json.dumps(plan.plausibility, indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            flags = flag_frame(plan.plausibility)
            flags.to_csv(staging / PLAUSIBILITY_CSV, index=False, float_format="%.10g")
            written.extend([PLAUSIBILITY_FILE, PLAUSIBILITY_CSV])
        for name in written:
            files[name] = _sha256(staging / name)
        info = {"format": FORMAT, **plan.info, "files": files}
        info["integrity"] = hashlib.sha256(_canonical(info)).hexdigest()
        (staging / PLAN_FILE).write_text(
            json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (staging / RUN_FILE).write_text(json.dumps(jsonable(plan.run), indent=2) + "\n")
        result.append(Plan(info, plan.tables, plan.run, plan.diagnosis, plan.plausibility))

    write_folder(directory, fill, "the plan")
    return result[0]


def _read_info(directory: Path) -> dict[str, Any]:
    path = directory / PLAN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no plan here (run `econplan plan --out {directory}`)")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise PlanError(f"{path}: cannot be read as a plan ({reason})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise PlanError(
            f"{path}: not a plan written by this version of econplan (no format "
            f"{FORMAT!r}); write it again with econplan plan"
        )
    return info


def load_plan(directory: str | os.PathLike[str]) -> Plan:
    """A plan written by ``econplan plan`` (or ``write_plan``), back in Python, after checking
    that plan.json and every file it lists are as econplan wrote them.

    Raises FileNotFoundError without a plan.json and PlanError (a ValueError) for a plan that
    was changed, damaged or is incomplete, naming the file."""
    directory = Path(directory)
    info = _read_info(directory)
    plan_json = directory / PLAN_FILE
    again = "write the plan again with econplan plan"
    if info.get("integrity") != hashlib.sha256(_canonical(info)).hexdigest():
        raise PlanError(f"{plan_json}: changed after econplan wrote it (checksum differs); {again}")
    files = info.get("files")
    names = info.get("tables", [])  # an infeasible plan has none
    if (
        not isinstance(files, dict)
        or not isinstance(names, list)
        or not all(isinstance(n, str) and _TABLE_NAME.fullmatch(n) for n in names)
    ):
        raise PlanError(f"{plan_json}: its list of tables or files is malformed; {again}")
    for name in names:
        if f"{name}.parquet" not in files:
            raise PlanError(f"{plan_json}: table {name} has no checksum; {again}")
    contents: dict[str, bytes] = {}
    for name, expected in files.items():
        if (
            not isinstance(name, str)
            or not _FILE_NAME.fullmatch(name)
            or not isinstance(expected, str)
        ):
            raise PlanError(f"{plan_json}: lists {name!r}, which is not a file of a plan; {again}")
        path = directory / name
        try:
            if path.is_symlink() or not path.is_file():
                raise PlanError(
                    f"{path}: missing or not a plain file (plan.json lists it); {again}"
                )
            data = path.read_bytes()  # read once: hashed and parsed from the same bytes
        except OSError as error:
            raise PlanError(f"{path}: cannot be read ({error.strerror}); {again}") from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise PlanError(f"{path}: changed after econplan wrote it (checksum differs); {again}")
        contents[name] = data
    tables: dict[str, pd.DataFrame] = {}
    for name in names:
        try:
            tables[name] = pd.read_parquet(io.BytesIO(contents[f"{name}.parquet"]))
        except (OSError, ValueError, pa.ArrowException) as error:
            raise PlanError(f"{directory / name}.parquet: cannot be read ({error})") from None
    run_path = directory / RUN_FILE
    try:
        run = json.loads(run_path.read_text()) if run_path.is_file() else {}
    except (OSError, ValueError, RecursionError):
        run = {}  # timings only: nothing depends on them
    diagnosis = None
    if DIAGNOSIS_FILE in contents:
        try:
            diagnosis = json.loads(contents[DIAGNOSIS_FILE].decode("utf-8"))
        except (ValueError, RecursionError) as error:
            raise PlanError(f"{directory / DIAGNOSIS_FILE}: cannot be read ({error})") from None
    report = None
    if PLAUSIBILITY_FILE in contents:
        try:
            report = json.loads(contents[PLAUSIBILITY_FILE].decode("utf-8"))
        except (ValueError, RecursionError) as error:
            raise PlanError(f"{directory / PLAUSIBILITY_FILE}: cannot be read ({error})") from None
    return Plan(info, tables, run if isinstance(run, dict) else {}, diagnosis, report)


def plan_folder_problem(directory: Path) -> str | None:
    """None when ``directory`` holds only what ``econplan plan`` wrote there (so replacing it
    loses nothing of the user's), else what it holds that econplan did not write."""
    entries = sorted(p.name for p in directory.iterdir())
    info: Any = None
    plan_json = directory / PLAN_FILE
    if plan_json.is_file() and not plan_json.is_symlink():
        try:
            info = json.loads(plan_json.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            info = None
    if not isinstance(info, dict) or not {"status", "solver", "economy"} <= info.keys():
        more = f" and {len(entries) - 3} more" if len(entries) > 3 else ""
        shown = ", ".join(entries[:3]) + more
        return f"holds {shown}, and is not a plan written by econplan"
    ours = {PLAN_FILE, RUN_FILE}
    files = info.get("files")
    if info.get("format") == FORMAT and isinstance(files, dict):
        ours |= {name for name in files if isinstance(name, str)}
    else:  # a plan of an earlier econplan, which listed its tables but not its files
        listed = info.get("tables")
        names: list[Any] = listed if isinstance(listed, list) else []
        ours |= {
            f"{n}.{suffix}" for n in names if isinstance(n, str) for suffix in ("parquet", "csv")
        }
        ours.add(DIAGNOSIS_FILE)
    for entry in entries:
        path = directory / entry
        if entry not in ours or path.is_symlink() or not path.is_file():
            return f"holds {entry}, which econplan did not write there"
    return None
