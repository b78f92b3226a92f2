"""Writing report files: all of them or none, never over a read-only file or one of the run's inputs.

Each file is first written beside its target under a temporary name; only when every one is written
are they renamed into place, and a failure removes every temporary file, so a failed run leaves
neither half a report nor one report of several.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from common.errors import InputError


def _is_within(path: Path, directory: Path) -> bool:
    try:
        path.relative_to(directory)
    except ValueError:
        return False
    return True


def _refusal(path: Path, inputs: Iterable[Path]) -> str | None:
    resolved = path.resolve()
    if resolved.is_dir():
        return "is a directory"
    if resolved.exists():
        if not resolved.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(
            resolved, os.W_OK
        ):
            return "read-only file, not replaced"
        for given in inputs:
            source = given.resolve()
            if resolved == source or (source.is_dir() and _is_within(resolved, source)):
                return "is one of the inputs of this run, not replaced"
    return None


def _stage(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would: reports are CI artifacts
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_all(files: Sequence[tuple[Path, str]], inputs: Sequence[Path] = ()) -> None:
    """Write every (path, text), or raise InputError having written none of them."""
    problems = [f"{path}: cannot write ({why})" for path, _ in files if (why := _refusal(path, inputs))]
    targets = [path.resolve() for path, _ in files]
    problems += [f"{path}: named twice as an output" for i, (path, _) in enumerate(files) if targets[i] in targets[:i]]
    if problems:
        raise InputError(*problems)
    staged: list[tuple[str, Path]] = []
    current = files[0][0] if files else Path()
    try:
        for current, text in files:
            staged.append((_stage(current, text), current))
        for tmp, current in staged:
            os.replace(tmp, current)
    except OSError as exc:
        raise InputError(f"{current}: cannot write ({exc.strerror})") from None
    finally:
        for tmp, _ in staged:
            if os.path.lexists(tmp):
                os.unlink(tmp)


def write_atomically(path: Path, text: str, inputs: Sequence[Path] = ()) -> None:
    write_all([(path, text)], inputs)
