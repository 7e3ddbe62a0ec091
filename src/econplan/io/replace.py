"""Writing a folder the user named without ever losing what was there.

An output folder is replaced whole, and only when it is absent, empty, or holds nothing but
what econplan wrote there before (the caller says which files those are). The new contents go
into a staging folder beside it, which then takes the folder's place by one atomic exchange
(``renameat2(RENAME_EXCHANGE)`` on Linux): a kill at any moment leaves either the old folder
or the new one at the path, never neither. Staging folders are named ``.econplan-KIND-H-*``
beside the path, H a short hash of its name (so any name, however long or odd, gives a short
name without wildcards); those a kill left behind are removed (or, where the exchange is
unavailable and a kill fell between two renames, put back) by the next write. A write holds
an exclusive lock on the parent folder meanwhile, so two writes beside each other take turns
rather than clean up each other's work.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from econplan.errors import UsageError

LEFTOVER_NEW = "new"
LEFTOVER_OLD = "old"
LEFTOVER_PROBE = "probe"


def leftover_prefix(path: Path, kind: str) -> str:
    """The name a staging folder of ``kind`` beside ``path`` starts with."""
    digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:12]
    return f".econplan-{kind}-{digest}-"


Owned = Callable[[Path], str | None]
"""Given a folder, None when econplan may replace it, else why not (naming what is there)."""


class OutputError(UsageError):
    """An output path cannot be written: the message names it and says what to do."""


def describe_os_error(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "no space left on the device"
    if error.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return error.strerror or str(error)


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(path.anchor or ".")


def check_output_folder(
    path: Path, owned: Owned, option: str = "--out", example: str | None = None
) -> Path:
    """The absolute folder to write at ``path``, after checking that writing there can
    neither destroy anything econplan did not write nor fail for want of a writable place.
    Raises OutputError, naming the path and what to do. Touches nothing."""
    given = path
    example = example or f"{option} out"
    try:
        path = Path(os.path.abspath(path))
        if path.is_symlink():
            path = path.resolve(strict=True)
        here = Path.cwd().resolve()
    except (OSError, RuntimeError) as error:  # a link to nowhere, a loop of links
        raise OutputError(
            f"{given}: a symbolic link that leads nowhere or in a loop ({error}); give "
            f"{option} a folder"
        ) from None
    if path == here or path in here.parents:
        raise OutputError(
            f"{given}: names the current folder or one that holds it, which would be "
            f"replaced whole; give a folder of its own, for example {example}"
        )
    if path.exists():
        if not path.is_dir():
            raise OutputError(f"{given}: is a file, not a folder; give {option} a folder")
        if path.stat().st_dev != path.parent.stat().st_dev:
            raise OutputError(
                f"{given}: is a mount point, which cannot be swapped for a new folder; give "
                f"{option} a folder inside it"
            )
        if any(path.iterdir()):
            reason = owned(path)
            if reason is not None:
                raise OutputError(
                    f"{given}: {reason}; give {option} a new or empty folder, or move what is "
                    "there (nothing was changed)"
                )
        base = path.parent
    else:
        base = _nearest_existing(path.parent)
        if not base.is_dir():
            raise OutputError(f"{given}: {base} is not a folder; give {option} a folder")
    try:
        probe = Path(tempfile.mkdtemp(prefix=leftover_prefix(path, LEFTOVER_PROBE), dir=base))
        try:
            (probe / "probe").write_bytes(b"econplan")
        finally:
            shutil.rmtree(probe, ignore_errors=True)
    except OSError as error:
        kept = " (what is there is kept)" if path.exists() else ""
        raise OutputError(
            f"{given}: cannot be written in {base} ({describe_os_error(error)}){kept}; "
            f"give {option} a place where files can be written"
        ) from None
    return path


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` (flock on the folder itself: no lock file is left)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def clean_leftovers(path: Path) -> None:
    """Remove the staging folders a killed write left beside ``path``; if a kill fell between
    the two renames of the fallback (no folder at ``path``), put the old folder back first.
    Call it holding the parent's lock: a running write's folders are not leftovers."""
    if not path.parent.is_dir():
        return

    def named(kind: str) -> list[Path]:
        prefix = leftover_prefix(path, kind)
        return sorted(p for p in path.parent.iterdir() if p.name.startswith(prefix))

    olds = sorted(named(LEFTOVER_OLD), key=lambda p: p.stat().st_mtime)
    complete = [old / path.name for old in olds if (old / path.name).is_dir()]
    if not path.exists() and complete:
        os.rename(complete[-1], path)  # the latest old copy
    for leftover in (*named(LEFTOVER_NEW), *named(LEFTOVER_PROBE), *olds):
        shutil.rmtree(leftover, ignore_errors=True)


def _load_renameat2() -> Callable[[bytes, bytes], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # no libc, or a glibc older than 2.28
        return None
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2

    def exchange(a: bytes, b: bytes) -> int:
        if renameat2(at_fdcwd, a, at_fdcwd, b, rename_exchange) == 0:
            return 0
        return ctypes.get_errno()

    return exchange


_EXCHANGE = _load_renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system or file system cannot."""
    if _EXCHANGE is None:
        return False
    code = _EXCHANGE(os.fsencode(a), os.fsencode(b))
    if code == 0:
        return True
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def swap_in(staging: Path, path: Path) -> None:
    """Put the complete folder ``staging`` at ``path``; what was at ``path`` is removed."""
    if not path.exists():
        os.rename(staging, path)  # onto nothing (or an empty folder made meanwhile): atomic
        return
    if exchange(staging, path):
        shutil.rmtree(staging)  # now the old folder
        return
    # the fallback: two renames, with clean_leftovers to put the old one back after a kill
    old = Path(tempfile.mkdtemp(prefix=leftover_prefix(path, LEFTOVER_OLD), dir=path.parent))
    os.rename(path, old / path.name)
    os.rename(staging, path)
    shutil.rmtree(old)


def _same_mode(staging: Path, path: Path) -> None:
    """The new folder as the old one was (mode, and owner where allowed), or as a new folder
    under the umask."""
    if path.is_dir():
        old = path.stat()
        os.chmod(staging, stat.S_IMODE(old.st_mode))
        with contextlib.suppress(OSError):
            os.chown(staging, old.st_uid, old.st_gid)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)


def write_folder(path: Path, fill: Callable[[Path], None], what: str = "the output") -> None:
    """Write a folder at ``path`` by ``fill(staging)`` and swap it in whole. A failure to
    write (a full disk) raises OutputError and leaves ``path`` as it was."""
    created = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    staging: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.parent):
            clean_leftovers(path)
            staging = Path(
                tempfile.mkdtemp(prefix=leftover_prefix(path, LEFTOVER_NEW), dir=path.parent)
            )
            fill(staging)
            _same_mode(staging, path)
            swap_in(staging, path)
    except OSError as error:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # the parents made for it, when nothing was written
            with contextlib.suppress(OSError):
                folder.rmdir()
        kept = " (what was there is kept)" if path.exists() else ""
        raise OutputError(
            f"{path}: cannot write {what} ({describe_os_error(error)}){kept}"
        ) from None
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
