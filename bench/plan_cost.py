"""Where a stack's plan goes: the whole plan against rendering the same charts alone.

    .venv/bin/python bench/plan_cost.py plan STACK CALLS   # plan the stack, record its chart renders
    .venv/bin/python bench/plan_cost.py render CALLS       # a fresh process rendering only those

Each prints one JSON line of seconds. `bench/run.py` runs both per stack. The calls file holds the
charts' values as the program passed them (mock secret values included): it lives in the bench's work
directory and is removed by run.py once read.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def plan(stack: str, calls_file: Path) -> dict[str, Any]:
    started = time.perf_counter()
    import visio.kube.charts as charts
    from visio.plan.stackplan import plan_stack

    imported = time.perf_counter()
    calls: list[tuple[str, dict[str, Any] | None, str, str]] = []
    rendering = cpu = 0.0
    real = charts.render

    def timed(path: Path, values: dict[str, Any] | None, release: str, namespace: str) -> Any:
        nonlocal rendering, cpu
        calls.append((str(path), pickle.loads(pickle.dumps(values)), release, namespace))
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        try:
            return real(path, values, release, namespace)
        finally:
            # The mock runtime registers resources from threads: the wall times of two renders can overlap.
            rendering += time.perf_counter() - begin
            cpu += time.thread_time() - begin_cpu

    charts.render = timed  # type: ignore[assignment]
    result = plan_stack(stack)
    done = time.perf_counter()
    calls_file.write_bytes(pickle.dumps(calls))
    return {"imports": imported - started, "plan": done - imported, "helm_in_plan": rendering, "helm_cpu_in_plan": cpu,
            "charts": len(calls), "resources": len(result.resources)}


def render(calls_file: Path) -> dict[str, Any]:
    started = time.perf_counter()
    import visio.kube.charts as charts

    imported = time.perf_counter()
    calls = pickle.loads(calls_file.read_bytes())
    objects = 0
    for path, values, release, namespace in calls:
        objects += len(charts.render(Path(path), values, release, namespace))
    return {"imports": imported - started, "render": time.perf_counter() - imported, "objects": objects}


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "plan":
        print(json.dumps(plan(argv[1], Path(argv[2]))))
    elif len(argv) == 2 and argv[0] == "render":
        print(json.dumps(render(Path(argv[1]))))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
