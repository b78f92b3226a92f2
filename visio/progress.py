"""Progress of a long run, on stderr: a bar on a terminal, nothing on a pipe unless asked.

`VISIO_PROGRESS=1` asks for it where stderr is not a terminal (a CI log then gets a plain line at
every tenth of each step, no control codes); `VISIO_PROGRESS=0` silences it everywhere. NO_COLOR is
respected by the console itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from common.errors import InputError
from visio.console import err

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

Advance = Callable[[int], None]

_ON = {"1", "true", "yes", "on", "always"}
_OFF = {"0", "false", "no", "off", "never"}


def wanted() -> bool | None:
    """True or False when `VISIO_PROGRESS` says so, None to follow the terminal."""
    value = os.environ.get("VISIO_PROGRESS", "").strip().lower()
    if not value:
        return None
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise InputError(f"VISIO_PROGRESS: expected 1 or 0 (on or off), got {value!r}")


def _ignore(count: int) -> None:
    del count


class Meter:
    """The steps of one run, each with a known amount of work: `step(label, total)` gives its callback.

    A step below the minimum shows nothing unless asked, so a one-file audit never draws a bar; the
    bar itself starts with the first step that shows.
    """

    def __init__(self, live: bool, plain: bool, minimum: int) -> None:
        self._live, self._plain, self._minimum = live, plain, minimum
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)
            self._bar = None

    def _start(self) -> Progress:
        if self._bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            # Redrawn on each advance, not by a timer thread: the work forks children, and a
            # thread holding the console's lock at that moment would leave it held in them.
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err, transient=True, auto_refresh=False)
            self._bar.__enter__()
        return self._bar

    def step(self, label: str, total: int, minimum: int | None = None) -> Advance:
        """`minimum`: this step's own threshold (a list of kinds read over the network is slow however short)."""
        if self._live and total >= (self._minimum if minimum is None or self._minimum == 0 else minimum):
            bar = self._start()
            if self._task is not None:
                bar.update(self._task, visible=False)
            task = self._task = bar.add_task(label, total=total)
            bar.refresh()

            def advance(count: int) -> None:
                bar.advance(task, count)
                bar.refresh()

            return advance
        if self._plain and total > 0:
            return _Lines(label, total)
        return _ignore


class _Lines:
    """A plain line at each tenth: readable in a CI log, which a redrawn bar would fill with control codes."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done, self.shown = label, total, 0, 0
        self.start = time.monotonic()

    def __call__(self, count: int) -> None:
        self.done = min(self.total, self.done + count)
        tenth = self.done * 10 // self.total
        if tenth > self.shown:
            self.shown = tenth
            err.print(f"{self.label}: {self.done}/{self.total} ({tenth * 10}%) "
                      f"{time.monotonic() - self.start:.1f} s", markup=False, highlight=False)


@contextmanager
def meter(minimum: int = 1000) -> Iterator[Meter]:
    """A meter for one run; a step of fewer than `minimum` units shows nothing unless asked."""
    asked = wanted()
    live = err.is_terminal and asked is not False
    plain = not err.is_terminal and asked is True
    with Meter(live, plain, 0 if asked else minimum) as m:
        yield m
