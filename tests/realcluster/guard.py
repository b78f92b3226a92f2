"""The admission webhook (`visio admission serve`) run on loopback for a real API server to call.

kwok runs no container, so the webhook the Guard component deploys is run here as a process, with a
serving certificate signed by a CA of the test, and registered by URL.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path

    @property
    def ca_bundle(self) -> str:
        return base64.b64encode(self.ca.read_bytes()).decode()


def make_pki(directory: Path, name: str = "webhook") -> Pki:
    """A CA and a serving certificate for 127.0.0.1 it signs."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / f"{name}-{n}" for n in ("ca.key", "ca.crt", "tls.key", "tls.csr",
                                                                        "tls.crt"))
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", f"/CN={name} CA")
    _openssl("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    ext = directory / f"{name}-ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return Pki(ca, cert, key)


@dataclass
class Webhook:
    state: Path
    args: list[str]
    pki: Pki
    kubeconfig: Path | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/validate"

    @property
    def log(self) -> Path:
        return self.state / "webhook.log"

    def start(self) -> None:
        related = ["--kubeconfig", str(self.kubeconfig)] if self.kubeconfig else ["--no-related"]
        command = [str(ROOT / ".venv" / "bin" / "visio"), "admission", "serve", *self.args, "--cert",
                   str(self.pki.cert), "--key", str(self.pki.key), "--host", "127.0.0.1", "--port",
                   str(self.port), *related]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        # The chain is verified; the name is not (a certificate for the Service carries no 127.0.0.1).
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        context.check_hostname = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the webhook exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/healthz", context=context,
                                            timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the webhook did not answer on /healthz")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def decisions(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [d for d in (json.loads(line) for line in lines if line.startswith("{")) if "uid" in d]
