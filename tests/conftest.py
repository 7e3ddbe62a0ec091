from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from econplan import builtin_path
from econplan.execution.store.credentials import use_cheapest_hashes_for_tests

# passwords hashed with argon2's cheapest parameters: a test logs in in microseconds, not the
# tenth of a second the real parameters cost (never outside the tests)
use_cheapest_hashes_for_tests()

TINY = Path(__file__).parent / "data" / "tiny"


@pytest.fixture
def tiny_path() -> Path:
    return TINY


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny test economy."""
    target = tmp_path / "tiny"
    shutil.copytree(TINY, target)
    return target


@pytest.fixture
def builtin_copy(tmp_path: Path) -> Path:
    """A writable copy of the built-in economy, made by `econplan init` as a user would."""
    from click.testing import CliRunner

    from econplan.cli import main

    target = tmp_path / "mine"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == sorted(
        p.name for p in builtin_path().iterdir()
    )
    return target


@pytest.fixture(scope="session")
def builtin_plan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in economy's plan, solved and written once for the whole session (read-only:
    tests that change it copy it first)."""
    from econplan import load_economy
    from econplan.plan import make_plan, write_plan

    plan = make_plan(load_economy())
    assert plan.ok, plan.info["verification"]
    out = tmp_path_factory.mktemp("builtin-plan") / "plan"
    write_plan(plan, out)
    return out


@pytest.fixture(scope="session")
def demo_store_seeded(builtin_plan_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store seeded once per session with the web demo (the built-in plan in force,
    reports through October 2021, one user per role). Never written: a test copies it
    (:func:`demo_store_copy`); copying the file takes milliseconds, seeding seconds."""
    from econplan.execution.store import Store
    from econplan.web import demo

    path = tmp_path_factory.mktemp("web-seeded") / "econplan.db"
    with Store(str(path)) as store:
        demo.seed(store, builtin_plan_dir)
    return path


def copy_store(seeded: Path, folder: Path) -> str:
    """A writable copy of a seeded SQLite store in ``folder``; its URL."""
    target = folder / "econplan.db"
    shutil.copyfile(seeded, target)
    return str(target)


@pytest.fixture
def demo_store_copy(demo_store_seeded: Path, tmp_path: Path) -> str:
    """A test's own copy of the demo store, to change as it likes."""
    return copy_store(demo_store_seeded, tmp_path)


@pytest.fixture(scope="session")
def demo_store_url(demo_store_seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the demo store shared by the web tests, which must not change what others
    read (each adds its own versions or reports where it needs to)."""
    return copy_store(demo_store_seeded, tmp_path_factory.mktemp("web"))
