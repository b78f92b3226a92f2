"""The validating webhook: AdmissionReviews in over HTTPS, the engine's decision out, one log line each.

The serving certificate is read again when its files change (cert-manager or the Guard component
renew it in place), so a rotation needs no restart. A request that is not an AdmissionReview gets
HTTP 400, which the API server, with failurePolicy Fail, turns into a refusal.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import ssl
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from policies.admission.review import Related, decide
from policies.engine.adapters import from_kubernetes
from policies.engine.config import PolicyConfig
from policies.engine.model import Resource

# AdmissionReviews carry the whole object (and the old one on update): a Secret or ConfigMap may hold 1 MiB.
MAX_REQUEST = 4 * 1024 * 1024
# How long the ConfigMaps read for a namespace are reused: env values resolved through them.
RELATED_TTL = 10.0
CERT_CHECK_SECONDS = 30.0


@dataclass
class Certificate:
    cert: Path
    key: Path
    context: ssl.SSLContext = field(init=False)
    stamp: tuple[float, float] = field(init=False, default=(0.0, 0.0))

    def __post_init__(self) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.reload()

    def reload(self) -> bool:
        """Load the files again when they changed; True when they did."""
        stamp = (self.cert.stat().st_mtime, self.key.stat().st_mtime)
        if stamp == self.stamp:
            return False
        self.context.load_cert_chain(str(self.cert), str(self.key))
        self.stamp = stamp
        return True


class CachedRelated:
    """ConfigMaps of a namespace, read with the webhook's own identity and kept a few seconds."""

    def __init__(self, read: Callable[[str], Sequence[dict[str, Any]]], ttl: float = RELATED_TTL) -> None:
        self.read, self.ttl = read, ttl
        self.cache: dict[str, tuple[float, list[Resource]]] = {}

    def __call__(self, namespace: str) -> Sequence[Resource]:
        now = time.monotonic()
        hit = self.cache.get(namespace)
        if hit is None or now - hit[0] > self.ttl:
            items = [from_kubernetes({**o, "apiVersion": "v1", "kind": "ConfigMap"}) for o in self.read(namespace)]
            hit = (now, items)
            self.cache[namespace] = hit
        return hit[1]


def application(config: PolicyConfig, related: Related | None = None, log: TextIO = sys.stdout) -> web.Application:
    async def validate(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            review = json.loads(await request.read())
            decision = decide(review, config, dt.date.today(), related)
        except (ValueError, TypeError) as exc:
            print(json.dumps({"error": f"not an AdmissionReview: {str(exc)[:200]}"}), file=log, flush=True)
            return web.json_response({"error": "not an AdmissionReview"}, status=400)
        record = {**decision.log_record(), "ms": round((time.perf_counter() - started) * 1000, 2)}
        print(json.dumps(record, sort_keys=True), file=log, flush=True)
        return web.json_response(decision.response())

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=MAX_REQUEST)
    app.router.add_post("/validate", validate)
    app.router.add_get("/healthz", healthz)
    return app


async def _watch(cert: Certificate, log: TextIO) -> None:
    while True:
        await asyncio.sleep(CERT_CHECK_SECONDS)
        try:
            if cert.reload():
                print(json.dumps({"event": "certificate reloaded"}), file=log, flush=True)
        except (OSError, ssl.SSLError) as exc:  # keep serving with the certificate already loaded
            print(json.dumps({"event": "certificate reload failed", "error": str(exc)[:200]}), file=log, flush=True)


def serve(config: PolicyConfig, cert: Certificate, host: str, port: int, related: Related | None = None,
          log: TextIO = sys.stdout) -> None:
    app = application(config, related, log)

    async def start_watch(_app: web.Application) -> None:
        _app["watch"] = asyncio.get_running_loop().create_task(_watch(cert, log))

    app.on_startup.append(start_watch)
    print(json.dumps({"event": "serving", "host": host, "port": port, "pid": os.getpid()}), file=log, flush=True)
    web.run_app(app, host=host, port=port, ssl_context=cert.context, print=None, access_log=None,
                handle_signals=True)
