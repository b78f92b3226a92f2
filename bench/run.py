"""The performance benchmark: `visio plan` per stack, `visio audit` against its peers on synthetic estates.

Run from the repository root:  .venv/bin/python bench/run.py [--sizes 1000,10000,100000] [--skip-peers]

For each size, in the same run and on the same files (written by `bench/estate.py`):
- floor: the plain libyaml parse of every file (`yaml.load_all(..., Loader=yaml.CSafeLoader)`), in a
  child process, best of `--floor-runs`;
- audit: `visio audit DIR --policy-config F --format json`, wall time and the child's own peak RSS
  (`os.wait4`); its findings must be exactly the planted defects, or the run stops;
- Checkov (`checkov -d DIR --framework kubernetes --quiet --compact --skip-download -o json`, offline)
  from `bench/.venv-peers`;
  above `--peer-max` objects it is not run: its time is extrapolated from the per-object cost at the
  largest size it ran, and marked so;
- regopy: a Gatekeeper-style allowed-repos policy compiled once, queried per object, wall time of the
  whole process (parse included); its violations must equal the planted foreign-registry defects.
The peers' virtualenv is created on first use from `bench/requirements-peers.txt`.
Nothing here is a test: the figures are printed (and, with --json, written) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.estate import REGISTRY, SHAPES, generate  # noqa: E402

VISIO = ROOT / ".venv" / "bin" / "visio"
PEERS = HERE / ".venv-peers"
PEER_PYTHON = PEERS / "bin" / "python"
CHECKOV = PEERS / "bin" / "checkov"
FLOOR = """
import sys, time, yaml
from pathlib import Path
start = time.perf_counter()
count = 0
for path in sorted(Path(sys.argv[1]).rglob("*.yaml")):
    count += sum(1 for _ in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))
print(time.perf_counter() - start, count)
"""


@dataclass
class Run:
    seconds: float
    # The largest single process's RSS (the child's own, or one of its children's).
    peak_mib: float
    returncode: int
    stdout: Path
    # The largest total PSS of the process and its children at once, sampled: forked workers share
    # the parent's pages, so their RSS added up would count those pages once per worker.
    tree_pss_mib: float = 0.0


@dataclass
class Row:
    shape: str
    size: int
    objects: int
    files: int
    mib: float
    floor: float
    audit: Run
    planted: int
    checkov: float | None = None
    checkov_extrapolated: bool = False
    checkov_peak_mib: float | None = None
    regopy: float | None = None
    regopy_violations: int | None = None
    notes: list[str] = field(default_factory=list)


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The field after the parenthesised command name is the state, then the parent's pid.
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _sample_tree(pid: int, peak: list[int], stop: threading.Event) -> None:
    while not stop.wait(0.1):
        peak[0] = max(peak[0], sum(_pss_kib(p) for p in _tree(pid)))


def timed(argv: Sequence[str | Path], stdout: Path, env: dict[str, str] | None = None) -> Run:
    """Wall time, the largest single process's peak RSS (`os.wait4`) and the tree's peak total PSS."""
    with stdout.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=subprocess.PIPE, env=env)
        peak, stop = [0], threading.Event()
        sampler = threading.Thread(target=_sample_tree, args=(child.pid, peak, stop), daemon=True)
        sampler.start()
        assert child.stderr is not None
        errors = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if errors and child.returncode not in (0, 1):
        sys.stderr.write(errors.decode(errors="replace")[-2000:])
    return Run(seconds, usage.ru_maxrss / 1024, child.returncode, stdout, peak[0] / 1024)


def ensure_peers() -> None:
    if CHECKOV.exists() and PEER_PYTHON.exists():
        return
    print(f"creating {PEERS} (checkov, regopy; pinned in bench/requirements-peers.txt)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
    subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "-r", str(HERE / "requirements-peers.txt")],
                   check=True)


def estate(work: Path, size: int, seed: int, shape: str = "rich") -> tuple[Path, int]:
    root = work / f"estate-{shape}-{size}"
    stamp = root / "estate.json"
    wanted = {"size": size, "seed": seed, "shape": shape, "generator": (HERE / "estate.py").stat().st_mtime_ns}
    if not stamp.exists() or json.loads(stamp.read_text()) != wanted:
        started = time.perf_counter()
        planted = generate(root, size, seed, shape=shape)
        stamp.write_text(json.dumps(wanted))
        print(f"  generated {size} objects in {time.perf_counter() - started:.1f} s", flush=True)
    else:
        planted = json.loads((root / "planted.json").read_text())
    return root, len(planted)


def floor(manifests: Path, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", FLOOR, str(manifests)],
                             capture_output=True, text=True, check=True)
        best = min(best, float(out.stdout.split()[0]))
    return best


def check_audit(root: Path, run: Run) -> None:
    """The audit must report exactly the planted defects (exit 1), or nothing at all (exit 0)."""
    if run.returncode not in (0, 1):
        raise SystemExit(f"visio audit exited {run.returncode} on {root}")
    report = json.loads(run.stdout.read_text())
    found = sorted((f["rule"], f["resource"]["kind"], f["resource"]["namespace"], f["resource"]["name"], f["path"])
                   for f in report["findings"])
    planted = sorted((d["rule"], d["kind"], d["namespace"], d["name"], d["path"])
                     for d in json.loads((root / "planted.json").read_text()))
    if found != planted or run.returncode != (1 if planted else 0):
        raise SystemExit(f"visio audit on {root}: findings differ from the planted defects")


def audit(root: Path, runs: int) -> Run:
    best: Run | None = None
    for _ in range(runs):
        run = timed([VISIO, "audit", root / "manifests", "--policy-config", root / "policy.yaml", "--format", "json"],
                    root / "audit.json", env={**os.environ, "NO_COLOR": "1"})
        check_audit(root, run)
        if best is None or run.seconds < best.seconds:
            best = run
    assert best is not None
    return best


# Offline: no guideline download from the vendor's platform, no update check against PyPI.
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}


def checkov(root: Path) -> Run:
    return timed([CHECKOV, "-d", root / "manifests", "--framework", "kubernetes", "--quiet", "--compact",
                  "--skip-download", "-o", "json"], root / "checkov.json", env={**os.environ, **CHECKOV_ENV})


def regopy(root: Path) -> tuple[float, int, int]:
    """Wall time of the whole process (interpreter and imports included, as for the audit)."""
    run = timed([PEER_PYTHON, HERE / "rego_pass.py", root / "manifests", f"{REGISTRY}/"], root / "regopy.json")
    if run.returncode != 0:
        raise SystemExit(f"regopy pass failed on {root}")
    result = json.loads(run.stdout.read_text())
    return run.seconds, int(result["objects"]), int(result["violations"])


def measure(work: Path, shape: str, size: int, args: argparse.Namespace, checkov_cost: list[float]) -> Row:
    print(f"{shape} estate, {size} objects", flush=True)
    root, planted = estate(work, size, args.seed, shape)
    files = sorted((root / "manifests").glob("*.yaml"))
    mib = sum(f.stat().st_size for f in files) / 2**20
    base = floor(root / "manifests", args.floor_runs)
    print(f"  floor {base:.2f} s", flush=True)
    run = audit(root, args.audit_runs)
    print(f"  audit {run.seconds:.2f} s, largest process {run.peak_mib:.0f} MiB, "
          f"all processes {run.tree_pss_mib:.0f} MiB PSS", flush=True)
    row = Row(shape, size, size, len(files), mib, base, run, planted)
    if args.skip_peers:
        return row
    if size <= args.peer_max:
        ck = checkov(root)
        row.checkov, row.checkov_peak_mib = ck.seconds, ck.peak_mib
        checkov_cost.append(ck.seconds / size)
        print(f"  checkov {ck.seconds:.2f} s (exit {ck.returncode}), {ck.peak_mib:.0f} MiB", flush=True)
    elif checkov_cost:
        row.checkov, row.checkov_extrapolated = checkov_cost[-1] * size, True
        print(f"  checkov not run above {args.peer_max} objects: {row.checkov:.0f} s extrapolated", flush=True)
    seconds, objects, violations = regopy(root)
    if objects != size:
        raise SystemExit(f"regopy saw {objects} objects, expected {size}")
    foreign = sum(1 for d in json.loads((root / "planted.json").read_text()) if d["planted"] == "foreign-registry")
    if violations != foreign:
        raise SystemExit(f"regopy found {violations} foreign images, {foreign} were planted")
    row.regopy, row.regopy_violations = seconds, violations
    print(f"  regopy {seconds:.2f} s ({violations} foreign images)", flush=True)
    return row


PYTHON = ROOT / ".venv" / "bin" / "python"


def plan_stacks(work: Path) -> list[dict[str, Any]]:
    """Per stack: `visio plan STACK`, and the same plan beside a fresh process rendering only its charts."""
    rows = []
    env = {**os.environ, "NO_COLOR": "1"}
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        name = path.name[len("Pulumi."):-len(".yaml")]
        run = timed([VISIO, "plan", name, "--format", "json"], work / f"plan-{name}.json", env=env)
        try:
            resources = len(json.loads(run.stdout.read_text())["targets"][0]["resources"])
        except (ValueError, KeyError, IndexError):
            resources = 0
        calls = work / f"charts-{name}.pickle"
        try:
            planned = timed([PYTHON, HERE / "plan_cost.py", "plan", name, calls], work / f"plan-cost-{name}.json",
                            env=env)
            rendered = timed([PYTHON, HERE / "plan_cost.py", "render", calls], work / f"render-{name}.json",
                             env=env)
        finally:
            calls.unlink(missing_ok=True)  # the charts' values, mock secrets included
        inside = json.loads(planned.stdout.read_text())
        alone = json.loads(rendered.stdout.read_text())
        rows.append({"stack": name, "seconds": run.seconds, "resources": resources, "exit": run.returncode,
                     "peak_mib": run.peak_mib, "charts": inside["charts"],
                     "plan_process": planned.seconds, "plan_imports": inside["imports"],
                     "plan_in_process": inside["plan"],
                     "helm_cpu_in_plan": inside["helm_cpu_in_plan"],
                     "render_process": rendered.seconds, "render_imports": alone["imports"], "render": alone["render"]})
    return rows


def plan_all(work: Path) -> dict[str, float]:
    """`visio plan --all` in one process and over every core (best of 3 each): the same output, in stack order."""
    env = {**os.environ, "NO_COLOR": "1"}
    serial = min((timed([VISIO, "plan", "--all", "--format", "json"], work / "plan-all-1.json",
                        env={**env, "VISIO_JOBS": "1"}) for _ in range(3)), key=lambda r: r.seconds)
    spread = min((timed([VISIO, "plan", "--all", "--format", "json"], work / "plan-all-n.json", env=env)
                  for _ in range(3)), key=lambda r: r.seconds)
    if serial.stdout.read_bytes() != spread.stdout.read_bytes():
        raise SystemExit("visio plan --all: the output over every core differs from the output in one process")
    return {"one_process": serial.seconds, "every_core": spread.seconds, "cores": float(len(os.sched_getaffinity(0))),
            "peak_pss_mib": spread.tree_pss_mib}


@dataclass
class Startup:
    """Fixed costs (interpreter, imports, policy loading) measured on a 10-object estate."""

    audit: float
    # The same venv's interpreter starting and importing PyYAML: what a one-file audit cannot avoid.
    interpreter: float
    checkov: float | None = None
    regopy: float | None = None


def interpreter_start(work: Path) -> float:
    return min(timed([ROOT / ".venv" / "bin" / "python", "-c", "import yaml"], work / "interpreter.out").seconds
               for _ in range(5))


ONE_FILE = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.ministere.gouv.fr/web:1.0
"""


def one_file(work: Path) -> float:
    """`visio audit one.yaml` as an editor or a pre-commit hook runs it: the median of 7."""
    path = work / "one.yaml"
    path.write_text(ONE_FILE)
    env = {**os.environ, "NO_COLOR": "1"}
    times = sorted(timed([VISIO, "audit", path], work / "one.out", env=env).seconds for _ in range(7))
    return times[len(times) // 2]


def startup(work: Path, seed: int, shape: str, peers: bool) -> Startup:
    """Each tool's fixed cost on a 10-object estate of the shape (the rich one loads the GeoIP data)."""
    root, _ = estate(work, 10, seed, shape)
    fixed = Startup(min(audit(root, 1).seconds for _ in range(3)), interpreter_start(work))
    if peers:
        fixed.checkov = checkov(root).seconds
        fixed.regopy = regopy(root)[0]
    return fixed


def net_ratio(peer: float | None, peer_fixed: float | None, ours: float, ours_fixed: float) -> str:
    if peer is None or peer_fixed is None or ours <= ours_fixed:
        return "-"
    return f"{(peer - peer_fixed) / (ours - ours_fixed):.1f}"


def machine() -> dict[str, str]:
    cpu = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        cpu = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        mem = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return {"cpus": str(os.cpu_count()), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "kernel": platform.release()}


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}" if a is not None and b else "-"


def report(rows: list[Row], startups: dict[str, Startup], single: float, plans: list[dict[str, Any]],
           together: dict[str, float] | None) -> None:
    print()
    interpreter = min(f.interpreter for f in startups.values()) if startups else 0.0
    if interpreter:
        print(f"one-file audit: {single:.3f} s (median), {single / interpreter:.1f}x the venv's interpreter "
              f"importing PyYAML ({interpreter:.3f} s)")
    for shape, fixed in startups.items():
        peers = f", checkov {fixed.checkov:.2f} s, regopy {fixed.regopy:.2f} s" if fixed.checkov is not None else ""
        print(f"start-up ({shape}, 10 objects): visio audit {fixed.audit:.2f} s{peers}")
    head = (f"{'shape':<5} {'objects':>8} {'MiB':>6} | "
            f"{'floor s':>8} {'audit s':>8} {'checkov s':>10} {'regopy s':>9} | "
            f"{'floor':>6} {'audit':>6} {'net':>6} {'checkov':>8} {'regopy':>7} µs/obj | "
            f"{'ck/aud':>6} {'rg/aud':>6} {'aud/fl':>6} | {'net ck':>6} {'net rg':>6} | {'RSS MiB':>7} {'PSS MiB':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        fixed = startups[r.shape]
        start = fixed.audit

        def per(seconds: float | None, objects: int = r.objects) -> str:
            return f"{seconds / objects * 1e6:.0f}" if seconds is not None else "-"

        ck = f"{r.checkov:.1f}{'*' if r.checkov_extrapolated else ''}" if r.checkov is not None else "-"
        net = per(max(r.audit.seconds - start, 0.0))
        rg = f"{r.regopy:.1f}" if r.regopy is not None else "-"
        print(f"{r.shape:<5} {r.objects:>8} {r.mib:>6.1f} | {r.floor:>8.2f} {r.audit.seconds:>8.2f} {ck:>10} {rg:>9} | "
              f"{per(r.floor):>6} {per(r.audit.seconds):>6} {net:>6} {per(r.checkov):>8} {per(r.regopy):>7}        | "
              f"{ratio(r.checkov, r.audit.seconds):>6} {ratio(r.regopy, r.audit.seconds):>6} "
              f"{ratio(r.audit.seconds, r.floor):>6} | "
              f"{net_ratio(r.checkov, fixed.checkov, r.audit.seconds, start):>6} "
              f"{net_ratio(r.regopy, fixed.regopy, r.audit.seconds, start):>6} | "
              f"{r.audit.peak_mib:>7.0f} {r.audit.tree_pss_mib:>7.0f}")
    if any(r.checkov_extrapolated for r in rows):
        print("* Checkov not run at this size: extrapolated from its per-object cost at the largest size it ran")
    print("net: audit minus its start-up cost, per object; net ck, net rg: the ratios with every start-up removed")
    print("RSS: the largest single process; PSS: all of the audit's processes together at their peak")
    if plans:
        print()
        print(f"{'stack':<16} {'res.':>4} {'plan s':>7} {'MiB':>5} | "
              f"{'charts':>6} {'plan proc':>9} {'render proc':>11} {'ratio':>5} | "
              f"{'imports':>7} {'plan':>6} {'helm cpu':>8} {'render':>6} {'ratio':>5}")
        for p in plans:
            print(f"{p['stack']:<16} {p['resources']:>4} {p['seconds']:>7.2f} {p['peak_mib']:>5.0f} | "
                  f"{p['charts']:>6} {p['plan_process']:>9.2f} {p['render_process']:>11.2f} "
                  f"{p['plan_process'] / p['render_process']:>5.1f} | {p['plan_imports']:>7.2f} "
                  f"{p['plan_in_process']:>6.2f} {p['helm_cpu_in_plan']:>8.2f} {p['render']:>6.2f} "
                  f"{p['plan_in_process'] / p['render']:>5.1f}")
        print("proc: whole processes (interpreter and imports included); the right-hand side is inside them")
    if together:
        print(f"visio plan --all: {together['one_process']:.2f} s in one process, {together['every_core']:.2f} s over "
              f"{together['cores']:.0f} cores ({together['one_process'] / together['every_core']:.2f}x), "
              f"{together['peak_pss_mib']:.0f} MiB PSS at the peak")


def main() -> None:
    parser = argparse.ArgumentParser(description="visio performance benchmark")
    parser.add_argument("--sizes", default="1000,3000,10000,100000")
    parser.add_argument("--shapes", default="rich,small", help="Estates: rich (the project's own), small objects.")
    parser.add_argument("--skip-peers", action="store_true", help="Only the floor and visio audit.")
    parser.add_argument("--skip-plan", action="store_true")
    parser.add_argument("--peer-max", type=int, default=10000, help="Largest estate Checkov is run on.")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "visio-bench")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--floor-runs", type=int, default=2)
    parser.add_argument("--audit-runs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = sorted(set(shapes) - set(SHAPES))
    if unknown:
        parser.error(f"--shapes: unknown shape {unknown[0]!r} (known: {', '.join(sorted(SHAPES))})")
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.skip_peers:
        ensure_peers()
    print(json.dumps(machine()))
    single = one_file(args.work)
    startups = {shape: startup(args.work, args.seed, shape, not args.skip_peers) for shape in shapes}
    rows: list[Row] = []
    for shape in shapes:
        checkov_cost: list[float] = []
        rows.extend(measure(args.work, shape, size, args, checkov_cost) for size in sorted(sizes))
    plans = [] if args.skip_plan else plan_stacks(args.work)
    together = None if args.skip_plan else plan_all(args.work)
    report(rows, startups, single, plans, together)
    if args.json:
        args.json.write_text(json.dumps({
            "machine": machine(), "oneFileAudit": single, "startup": {k: v.__dict__ for k, v in startups.items()},
            "plans": plans, "planAll": together,
            "rows": [{**{k: v for k, v in r.__dict__.items() if k != "audit"},
                      "audit": r.audit.seconds, "audit_peak_mib": r.audit.peak_mib,
                      "audit_tree_pss_mib": r.audit.tree_pss_mib} for r in rows],
        }, indent=1, default=str))


if __name__ == "__main__":
    main()
