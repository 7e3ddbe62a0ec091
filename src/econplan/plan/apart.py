"""Work run in a forked child process while this one waits in short steps: for solvers that
hold Python's lock while they run (OR-Tools' PDLP, HiGHS's crossover) or that must not share
this process's state (cuPDLPx: a CUDA context made in a process does not survive a fork, so
none is made here). Ctrl-C and a deadline kill the child at once; nothing it did is kept
but the result it sends back."""

from __future__ import annotations

import multiprocessing
import time
import warnings
from collections.abc import Callable
from typing import Any

from econplan.plan.backend import SolveError


class DeadlineError(Exception):
    """The deadline passed while work ran apart (``apart``); the child was killed."""


def apart(work: Callable[[], Any], what: str, deadline: float | None = None) -> Any:
    """``work()`` in a forked child process, the parent waiting in short steps, for what holds
    Python's lock while it runs: OR-Tools' PDLP (measured: a ticking thread got no turn in a
    3-s run) and HiGHS's crossover (7.9 s on the first stage of a generated 1,000-product
    economy); and for cuPDLPx, whose CUDA context must be made in the child. In this process
    Ctrl-C would wait for them to end; the child is killed on Ctrl-C, and past ``deadline``
    (``DeadlineError``). Runs of PDLP cut into pieces, each from where the last stopped, were
    tried first: each restart loses PDLP's adaptive state, and on a generated 25-product
    economy pieces of 1,000 iterations left two stages unconverged at 20,000 that one run
    finished in 14,464 and 11,008. Where processes cannot be forked, it runs here."""
    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Windows
        return work()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        try:
            result = ("done", work())
        except BaseException as error:  # the parent reports it (a traceback here is noise)
            result = ("failed", f"{type(error).__name__}: {error}")
        send.send(result)

    with warnings.catch_warnings():
        # Python 3.12 warns that forking a process with threads (HiGHS's) may deadlock the
        # child; the child takes none of the locks they hold (OR-Tools alone, or a serial
        # HiGHS run and crossover of the Highs it inherits)
        warnings.simplefilter("ignore", DeprecationWarning)
        process = context.Process(target=child, daemon=True)
        process.start()
    send.close()
    try:
        while not receive.poll(0.05):
            if not process.is_alive() and not receive.poll(0):
                raise SolveError(f"{what} ended without a result (exit {process.exitcode})")
            if deadline is not None and time.perf_counter() > deadline:
                raise DeadlineError(f"the time limit passed during {what}")
        try:
            how, result = receive.recv()
        except EOFError:  # the child died before it sent anything: its pipe closed
            process.join()
            raise SolveError(f"{what} ended without a result (exit {process.exitcode})") from None
        if how == "failed":
            raise SolveError(f"{what} failed: {result}")
        return result
    except BaseException:
        process.kill()
        raise
    finally:
        process.join()
        receive.close()
