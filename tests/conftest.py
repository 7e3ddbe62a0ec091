from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from econplan import builtin_path

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
