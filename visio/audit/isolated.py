"""Rendering a chart someone else wrote in a child process, within a wall-clock and a memory limit.

Helm's template language has no bound of its own: `tpl` and `include` recurse, strings double, and
`range until 2000000000` builds a list of two billion numbers first. The audit renders such a chart
in a child process whose address space, output size and running time are limited, and reports a
chart that does not fit as unusable input instead of taking the machine with it.

Run as `python -m visio.audit.isolated`: a JSON request on stdin, a JSON answer on stdout.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import InputError

MIB = 1024 * 1024
# A normal chart renders in well under a second, in a few hundred MiB beyond the ~2 GiB of address
# space the Go runtime and Python reserve at start; rendered output beyond MAX_OUTPUT_MIB is refused.
DEFAULT_SECONDS = 60.0
DEFAULT_MEMORY_MIB = 4096
MAX_OUTPUT_MIB = 256
_TAIL = 4096


@dataclass(frozen=True)
class Limits:
    seconds: float = DEFAULT_SECONDS
    memory_mib: int = DEFAULT_MEMORY_MIB


DEFAULT_LIMITS = Limits()


def _limit(memory_mib: int) -> None:
    size = memory_mib * MIB
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT_MIB * MIB, MAX_OUTPUT_MIB * MIB))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def render_manifests(
    path: Path, values: dict[str, Any], release: str, namespace: str, limits: Limits
) -> dict[str, str]:
    """Helm's rendered templates (template path -> text), rendered by a child within `limits`."""
    request = json.dumps({"path": str(path), "values": values, "release": release, "namespace": namespace})
    within = f"{path}: chart could not be rendered within limits"
    with tempfile.TemporaryFile() as answer, tempfile.TemporaryFile() as errors:
        try:
            child = subprocess.run(
                [sys.executable, "-m", "visio.audit.isolated"], input=request.encode(), stdout=answer, stderr=errors,
                timeout=limits.seconds, preexec_fn=lambda: _limit(limits.memory_mib), check=False,
            )
        except subprocess.TimeoutExpired:
            raise InputError(f"{within} ({limits.seconds:g} s; see --render-timeout)") from None
        answer.seek(0)
        text = answer.read()
        errors.seek(0, 2)
        errors.seek(max(0, errors.tell() - _TAIL))
        tail = errors.read().decode("utf-8", "replace")
    if child.returncode == -signal.SIGXFSZ:
        raise InputError(f"{within} (more than {MAX_OUTPUT_MIB} MiB of output)")
    if child.returncode != 0:
        if child.returncode < 0 or "out of memory" in tail or "MemoryError" in tail or "cannot allocate" in tail:
            raise InputError(f"{within} ({limits.memory_mib} MiB of memory; see --render-memory)")
        raise InputError(f"{path}: chart could not be rendered (the renderer exited with code {child.returncode})")
    reply = json.loads(text)
    if "problems" in reply:
        raise InputError(*reply["problems"])
    manifests: dict[str, str] = reply["manifests"]
    return manifests


def _serve() -> None:
    from visio.kube.charts import helm_render

    request = json.loads(sys.stdin.buffer.read())
    try:
        manifests = helm_render(Path(request["path"]), request["values"], request["release"], request["namespace"])
    except InputError as exc:
        json.dump({"problems": exc.problems}, sys.stdout)
        return
    json.dump({"manifests": manifests}, sys.stdout)


if __name__ == "__main__":
    _serve()
