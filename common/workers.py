"""Spreading a large piece of work over every core: forked children, the parent taking a share too.

Parsing and judging tens of thousands of objects is pure Python, so threads would share one core.
Children are forked, not spawned: they start in milliseconds with every module and every object the
parent already holds, so a task is a closure over the parent's state and only its result (pickled)
travels back. The parent computes share 0 itself while the children compute the others.

`VISIO_JOBS` sets the number of processes (1: everything in the calling process).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

from common.errors import InputError

T = TypeVar("T")

_task: Callable[[int], object] | None = None


class WorkerLost(RuntimeError):
    """A child died before answering: whatever it was computing is missing, so the run has no result."""


def jobs() -> int:
    """The processes a large run may use: `VISIO_JOBS`, else the cores this process may run on."""
    wanted = os.environ.get("VISIO_JOBS", "").strip()
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise InputError(f"VISIO_JOBS: expected a whole number of processes (1 or more), got {wanted!r}")
        return int(wanted)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def shares(count: int, parts: int) -> list[range]:
    """`range(count)` cut into `parts` contiguous, nearly equal ranges (none empty)."""
    parts = max(1, min(parts, count))
    size, extra = divmod(count, parts)
    out: list[range] = []
    start = 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(range(start, end))
        start = end
    return out


def balanced(weights: Sequence[int], parts: int) -> list[range]:
    """Indices of `weights` cut into at most `parts` contiguous ranges of nearly equal total weight."""
    total = sum(weights)
    parts = max(1, min(parts, len(weights)))
    if total <= 0:
        return shares(len(weights), parts)
    out: list[range] = []
    start = running = 0
    for i, weight in enumerate(weights):
        running += weight
        # Cut after item i once this range has reached its share of the total.
        if len(out) < parts - 1 and running >= total * (len(out) + 1) / parts and i + 1 < len(weights):
            out.append(range(start, i + 1))
            start = i + 1
    out.append(range(start, len(weights)))
    return out


def _run(index: int) -> object:
    assert _task is not None
    return _task(index)


def fork_map(
    task: Callable[[int], T], count: int, processes: int, done: Callable[[int], None] | None = None
) -> list[T]:
    """`[task(0), ..., task(count - 1)]` over `processes` processes: this one and forked children.

    This process runs task 0, then takes back from the end every task no child has started, so more
    tasks than processes still keep every core busy. `done(i)` is called here as each task ends.
    Falls back to this process alone when there is one task or one process, or where fork is not
    available. A child that dies (killed, out of memory) raises WorkerLost: the caller's work is then
    incomplete, and it must not pretend otherwise. An exception a task raises is raised here.
    """
    import multiprocessing

    def here(i: int) -> T:
        result = task(i)
        if done is not None:
            done(i)
        return result

    if count <= 1 or processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [here(i) for i in range(count)]
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    global _task
    _task = task
    results: dict[int, T] = {}
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(processes, count) - 1, mp_context=context) as pool:
            futures: dict[Future[T], int] = {pool.submit(_run, i): i for i in range(1, count)}  # type: ignore[arg-type]
            results[0] = here(0)
            for future in sorted(futures, key=futures.__getitem__, reverse=True):
                if future.cancel():
                    i = futures.pop(future)
                    results[i] = here(i)
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    results[futures[future]] = future.result()
                    if done is not None:
                        done(futures[future])
    except BrokenProcessPool:
        raise WorkerLost(
            "a worker process died before answering (killed, or out of memory); the run has no result"
        ) from None
    finally:
        _task = None
    return [results[i] for i in range(count)]
