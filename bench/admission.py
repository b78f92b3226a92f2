"""Admission latency and throughput of the webhook (`visio admission serve`) under load from a second process.

Run from the repository root:  .venv/bin/python bench/admission.py [--stack interieur-prod] [--seconds 20]
                                                                     [--concurrency 1,4,16]

The request stream is what a stack's deployment sends: every object of the stack the webhook is
registered for, plus the Pods its controllers create from each pod template, and one request in
ten made non-compliant (a foreign image, a US endpoint in an env var or a ConfigMap). Each is an
AdmissionReview v1 as the API server sends it, posted over HTTPS (TLS 1.3, a CA of the run's own)
to the webhook on loopback, which logs each decision as in production. The load runs in a child
process, `--concurrency` requests in flight, for `--seconds` after a warm-up; every answer is
checked (the non-compliant ones must be refused, the rest admitted) or the run stops.

Beside it, on the same stream and the same load, OPA Gatekeeper's webhook (built from the Go module
proxy, tools/gatekeeper) with the allowed-repos ConstraintTemplate its module ships
(demo/agilebank) and a K8sAllowedRepos constraint listing the stack's registries, run against a local
control plane (scripts/local-cluster.sh) from which it loads the template and the constraint. It
judges the Pods' images only, by string prefix; its answers are counted, not checked.
`--no-gatekeeper` leaves it out.
Nothing here is a test: the figures are printed (and, with --json, written) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import datetime as dt
import json
import multiprocessing
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

VISIO = ROOT / ".venv" / "bin" / "visio"
WARMUP_SECONDS = 3.0
# Kinds the webhook is registered for (policies.admission.review.WEBHOOK_RESOURCES).
GUARDED = {"Pod", "ReplicationController", "PodTemplate", "ConfigMap", "Secret", "Service", "Endpoints",
           "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Ingress", "NetworkPolicy",
           "EndpointSlice", "Issuer", "ClusterIssuer"}


def _pki(directory: Path) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guard")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("guard.visio-guard.svc")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.crt", directory / "tls.crt", directory / "tls.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def _pods(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The Pod a controller makes from the object's template, owned as the controller owns it."""
    from policies.engine.podspec import CARRIERS

    keys = CARRIERS.get(obj["kind"])
    if keys is None or obj["kind"] in ("Pod", "PodTemplate"):
        return []
    template: Any = obj
    for key in keys[:-1]:
        template = template.get(key) or {}
    meta = obj["metadata"]
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    owner_kind, owner = obj["kind"], meta["name"]
    if obj["kind"] == "Deployment":
        labels["pod-template-hash"] = "5d8f9c7b4"
        owner_kind, owner = "ReplicaSet", f"{meta['name']}-5d8f9c7b4"
    elif obj["kind"] == "CronJob":
        owner_kind, owner = "Job", f"{meta['name']}-29412345"
    return [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": f"{owner}-x7k2p", "namespace": meta.get("namespace"), "labels": labels,
                          "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind, "name": owner,
                                               "uid": "8b1f0c2e", "controller": True}]},
             "spec": template.get("spec") or {}}]


def _spoil(obj: dict[str, Any], i: int) -> dict[str, Any] | None:
    """A non-compliant variant: a foreign image, a US endpoint in env, or in ConfigMap data."""
    bad = copy.deepcopy(obj)
    if obj["kind"] == "ConfigMap":
        bad.setdefault("data", {})["EXPORT_URL"] = "https://exports.s3.us-east-1.amazonaws.com/visio"
        return bad
    from policies.engine.podspec import CARRIERS

    keys = CARRIERS.get(obj["kind"])
    if keys is None:
        return None
    spec: Any = bad
    for key in keys:
        spec = spec.get(key) or {}
    containers = spec.get("containers") or []
    if not containers:
        return None
    if i % 2:
        containers[0].setdefault("env", []).append({"name": "LLM_BASE_URL", "value": "https://api.openai.com/v1"})
    else:
        containers[0]["env"] = [*containers[0].get("env", []),
                                {"name": "SENTRY_DSN", "value": "https://key@o1.ingest.sentry.io/1"}]
    return bad


def reviews(stack: str) -> list[tuple[bytes, bool]]:
    """(AdmissionReview body, whether it must be admitted) for the stack's request stream."""
    from visio.plan.stackplan import plan_stack, reveal

    planned = [reveal(r.inputs) for r in plan_stack(stack).plan.kubernetes_objects()]
    objects = [o for o in planned if o["kind"] in GUARDED]
    objects += [p for o in objects for p in _pods(o)]
    stream: list[tuple[dict[str, Any], bool]] = [(o, True) for o in objects]
    spoilable = [b for i, o in enumerate(objects) if (b := _spoil(o, i)) is not None]
    spoilt = spoilable[:: max(1, len(spoilable) * 9 // len(objects))][: len(objects) // 9]
    stream += [(b, False) for b in spoilt]
    out = []
    for i, (obj, ok) in enumerate(stream):
        meta = obj["metadata"]
        group, _, version = obj["apiVersion"].rpartition("/")
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": f"bench-{i}", "kind": {"group": group, "version": version, "kind": obj["kind"]},
            "resource": {"group": group, "version": version, "resource": obj["kind"].lower() + "s"},
            "name": meta["name"], "namespace": meta.get("namespace"), "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": obj, "oldObject": None, "dryRun": False, "options": {"kind": "CreateOptions"}}}
        out.append((json.dumps(review).encode(), ok))
    return out


def _load(url: str, ca: str, bodies: list[tuple[bytes, bool]], concurrency: int, seconds: float,
          queue: Any) -> None:
    """Child process: `concurrency` requests in flight for `seconds` after the warm-up."""
    import aiohttp

    async def run() -> tuple[list[float], int, int]:
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = False
        latencies: list[float] = []
        wrong = errors = 0
        connector = aiohttp.TCPConnector(ssl=context, limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            start = time.perf_counter()
            measure_from, end = start + WARMUP_SECONDS, start + WARMUP_SECONDS + seconds

            async def worker(offset: int) -> None:
                nonlocal wrong, errors
                i = offset
                while (now := time.perf_counter()) < end:
                    body, ok = bodies[i % len(bodies)]
                    i += concurrency
                    t0 = time.perf_counter()
                    try:
                        async with session.post(url, data=body,
                                                headers={"Content-Type": "application/json"}) as r:
                            answer = json.loads(await r.read())
                    except aiohttp.ClientError:
                        errors += 1
                        continue
                    t1 = time.perf_counter()
                    if answer["response"]["allowed"] is not ok:
                        wrong += 1
                    if now >= measure_from:
                        latencies.append(t1 - t0)

            await asyncio.gather(*(worker(k) for k in range(concurrency)))
        return latencies, wrong, errors

    queue.put(asyncio.run(run()))


def _serve(stack: str, cert: Path, key: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen([str(VISIO), "admission", "serve", "--stack", stack, "--cert", str(cert),
                                    "--key", str(key), "--host", "127.0.0.1", "--port", str(port),
                                    "--no-related"], stdout=out, stderr=subprocess.STDOUT)
    return process


def _wait(port: int, ca: Path, process: subprocess.Popen[bytes]) -> None:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit("the webhook exited")
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the webhook did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _levels(url: str, ca: Path, bodies: list[tuple[bytes, bool]], levels: Sequence[int], seconds: float,
            check: bool) -> list[dict[str, Any]]:
    rows = []
    for concurrency in levels:
        queue: Any = multiprocessing.Queue()
        child = multiprocessing.Process(target=_load, args=(url, str(ca), bodies, concurrency, seconds, queue))
        child.start()
        latencies, wrong, errors = queue.get()
        child.join()
        if errors or (check and wrong):
            raise SystemExit(f"{url}, {concurrency} in flight: {wrong} wrong answers, {errors} errors")
        latencies.sort()
        rows.append({
            "concurrency": concurrency, "requests": len(latencies),
            "throughput": round(len(latencies) / seconds, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
            "max_ms": round(1000 * latencies[-1], 2),
            "answers_unlike_ours": wrong,
        })
    return rows


def _gatekeeper_files() -> Path:
    found = subprocess.run(["go", "mod", "download", "-json", "github.com/open-policy-agent/gatekeeper/v3"],
                           cwd=ROOT / "tools" / "gatekeeper", capture_output=True, text=True, check=True,
                           env={**os.environ, "GOFLAGS": "-mod=readonly"})
    return Path(json.loads(found.stdout)["Dir"])


@contextlib.contextmanager
def gatekeeper(stack: str, bodies: list[tuple[bytes, bool]], tmp: Path, ca: Path, cert: Path,
               key: Path) -> Iterator[str]:
    """Gatekeeper's webhook, its constraint loaded from a local control plane; yields its URL."""
    from common.config import load_stack
    from policies.engine.stackconfig import from_stack

    bin_dir = Path(subprocess.run([str(ROOT / "scripts" / "build-tools.sh"), "gatekeeper", "kubernetes", "etcd",
                                   "kwok"], capture_output=True, text=True, check=True).stdout.strip())
    state = tmp / "cluster"
    env = {**os.environ, "VISIO_LOCAL_CLUSTER_DIR": str(state)}
    script = str(ROOT / "scripts" / "local-cluster.sh")
    kubeconfig = subprocess.run([script, "up", stack], env=env, capture_output=True, text=True,
                                check=True).stdout.strip()
    kubectl = [str(state / "bin" / "kubectl"), "--kubeconfig", kubeconfig]
    process = None
    try:
        module = _gatekeeper_files()
        for crd in sorted((module / "charts" / "gatekeeper" / "crds").glob("*.yaml")):
            subprocess.run([*kubectl, "apply", "--server-side", "-f", str(crd)], check=True, capture_output=True)
        subprocess.run([*kubectl, "wait", "--for", "condition=established", "crd", "--all", "--timeout", "60s"],
                       check=True, capture_output=True)
        subprocess.run([*kubectl, "create", "namespace", "gatekeeper-system"], check=True, capture_output=True)
        template = module / "demo" / "agilebank" / "templates" / "k8sallowedrepos_template.yaml"
        subprocess.run([*kubectl, "apply", "-f", str(template)], check=True, capture_output=True)
        certs = tmp / "gatekeeper-certs"
        certs.mkdir()
        (certs / "tls.crt").write_bytes(cert.read_bytes())
        (certs / "tls.key").write_bytes(key.read_bytes())
        port, health = _free_port(), _free_port()
        with (tmp / "gatekeeper.log").open("wb") as out:
            process = subprocess.Popen([
                # generate: the template's constraint kind is made by the webhook's own controller.
                str(bin_dir / "gatekeeper"), "--operation=webhook", "--operation=generate",
                f"--kubeconfig={kubeconfig}",
                "--debug-use-fake-pod", "--disable-cert-rotation", f"--cert-dir={certs}", f"--port={port}",
                "--host=127.0.0.1", f"--health-addr=127.0.0.1:{health}", "--metrics-addr=0",
                "--default-create-vap-for-templates=false", "--default-create-vap-binding-for-constraints=false",
                "--enable-external-data=false", "--tls-min-version=1.3"],
                env={**os.environ, "POD_NAMESPACE": "gatekeeper-system"}, stdout=out, stderr=subprocess.STDOUT)
        repos = from_stack(load_stack(stack)).allowedRegistries
        constraint = {"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sAllowedRepos",
                      "metadata": {"name": "visio-registries"},
                      "spec": {"match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]},
                               "parameters": {"repos": [r.rstrip("/") + "/" for r in repos]}}}
        deadline = time.monotonic() + 120
        while subprocess.run([*kubectl, "apply", "-f", "-"], input=json.dumps(constraint).encode(),
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline or process.poll() is not None:
                log = (tmp / "gatekeeper.log").read_text()[-2000:]
                raise SystemExit(f"Gatekeeper never served its constraint kind: {log}")
            time.sleep(1)
        url = f"https://127.0.0.1:{port}/v1/admit"
        probe = next(b for b, _ in bodies if b'"kind": "Pod"' in b)
        foreign = probe.replace(b'"image": "registry.', b'"image": "ghcr.io/x/registry.')
        context = ssl.create_default_context(cafile=str(ca))
        context.check_hostname = False
        while True:  # the constraint is in force once a foreign image is refused
            request = urllib.request.Request(url, data=foreign, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, context=context, timeout=5) as r:
                    if json.loads(r.read())["response"]["allowed"] is False:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("Gatekeeper never refused a foreign image")
            time.sleep(1)
        yield url
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        subprocess.run([script, "down"], env=env, capture_output=True)


def measure(stack: str, seconds: float, levels: Sequence[int], with_gatekeeper: bool) -> dict[str, Any]:
    bodies = reviews(stack)
    peer: list[dict[str, Any]] | None = None
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack_of:
        ca, cert, key = _pki(Path(tmp))
        # Both webhooks are measured while the control plane Gatekeeper needs is up: same machine load.
        peer_url = stack_of.enter_context(gatekeeper(stack, bodies, Path(tmp), ca, cert, key)) \
            if with_gatekeeper else None
        port = _free_port()
        process = _serve(stack, cert, key, port, Path(tmp) / "decisions.log")
        try:
            _wait(port, ca, process)
            rows = _levels(f"https://127.0.0.1:{port}/validate", ca, bodies, levels, seconds, check=True)
            logged = sum(1 for _ in (Path(tmp) / "decisions.log").open())
        finally:
            process.terminate()
            process.wait(timeout=30)
        if peer_url is not None:
            peer = _levels(peer_url, ca, bodies, levels, seconds, check=False)
    kinds: dict[str, int] = {}
    for body, _ in bodies:
        kind = json.loads(body)["request"]["kind"]["kind"]
        kinds[kind] = kinds.get(kind, 0) + 1
    stream = {"requests": len(bodies), "refused": sum(1 for _, ok in bodies if not ok), "kinds": kinds,
              "mean_bytes": round(sum(len(b) for b, _ in bodies) / len(bodies))}
    return {"stack": stack, "stream": stream,
            "seconds": seconds, "decisions_logged": logged, "rows": rows, "gatekeeper": peer,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "load": [round(x, 2) for x in os.getloadavg()]}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="interieur-prod")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--json", type=Path, help="write the figures to this file too")
    parser.add_argument("--no-gatekeeper", action="store_true", help="measure the project's webhook only")
    args = parser.parse_args(argv)
    result = measure(args.stack, args.seconds, [int(c) for c in args.concurrency.split(",")], not args.no_gatekeeper)
    stream = result["stream"]
    print(f"stack {result['stack']}: {stream['requests']} AdmissionReviews ({stream['refused']} to refuse), "
          f"{stream['mean_bytes']} bytes on average; {result['seconds']:.0f} s per level, load {result['machine']}")
    print(f"{'webhook':>24} {'in flight':>9} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, rows in (("visio admission serve", result["rows"]), ("Gatekeeper allowed-repos", result["gatekeeper"])):
        for row in rows or ():
            print(f"{name:>24} {row['concurrency']:>9} {row['requests']:>9} {row['throughput']:>8} "
                  f"{row['p50_ms']:>8} {row['p99_ms']:>8} {row['max_ms']:>8}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
