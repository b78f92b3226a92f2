"""TLS as a client sees it: what the TURN/TLS port negotiates, and the certificate it is configured with."""

from __future__ import annotations

import hashlib
import socket
import ssl
import subprocess
import warnings

from visio.report.checkresult import Outcome
from visio.verify.local import binary

MODERN = ("TLSv1.2", "TLSv1.3")


def _context(legacy: bool) -> ssl.SSLContext:
    # Verification evidence, not a trust decision: the certificate is inspected, not validated here.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _connect(address: str, port: int, server_name: str, legacy: bool) -> tuple[str, bytes]:
    with socket.create_connection((address, port), timeout=3 if legacy else 5) as raw, \
            _context(legacy).wrap_socket(raw, server_hostname=server_name) as tls:
        return tls.version() or "?", tls.getpeercert(binary_form=True) or b""


def handshake(address: str, port: int, server_name: str, cert_pem: str | None = None) -> Outcome:
    """TLS 1.2 or later is offered, TLS 1.0/1.1 refused, and (if given) the configured certificate served."""
    version, der = _connect(address, port, server_name, legacy=False)
    evidence = {"endpoint": f"{address}:{port}", "negotiated": version,
                "certificate-sha256": hashlib.sha256(der).hexdigest()}
    problems: list[str] = []
    if version not in MODERN:
        problems.append(f"negotiated {version}")
    try:
        old, _ = _connect(address, port, server_name, legacy=True)
        problems.append(f"accepted a {old} handshake")
        evidence["legacy"] = f"accepted {old}"
    except ssl.SSLError as exc:
        if "NO_PROTOCOLS_AVAILABLE" in str(exc).upper():
            evidence["legacy"] = "this OpenSSL cannot offer TLS < 1.2; left to the no-tlsv1/no-tlsv1_1 check"
        else:
            evidence["legacy"] = f"refused ({exc.reason or exc})"
    except TimeoutError:
        evidence["legacy"] = "no TLS < 1.2 handshake completed (the server stayed silent)"
    except OSError as exc:
        evidence["legacy"] = f"refused ({exc})"
    if cert_pem is not None:
        configured = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem)).hexdigest()
        if configured != evidence["certificate-sha256"]:
            problems.append("serves a certificate other than the configured one")
            evidence["configured-sha256"] = configured
    if problems:
        return False, f"TLS on {address}:{port}: " + "; ".join(problems), evidence
    return True, f"TLS on {address}:{port} negotiates {version}, refuses TLS < 1.2", evidence


def certificate(pem: str, domain: str) -> Outcome:
    """The certificate is current and names `domain` (exactly, or by a one-label wildcard)."""
    openssl = binary("openssl")
    run = subprocess.run([openssl, "x509", "-noout", "-enddate", "-ext", "subjectAltName"], input=pem,
                         capture_output=True, text=True, timeout=30, check=False)
    if run.returncode != 0:
        return False, "the certificate file does not parse as X.509", {"openssl": run.stderr.strip()[:300]}
    current = subprocess.run([openssl, "x509", "-noout", "-checkend", "0"], input=pem, capture_output=True,
                             text=True, timeout=30, check=False).returncode == 0
    names = [n.strip().removeprefix("DNS:") for line in run.stdout.splitlines() if "DNS:" in line
             for n in line.split(",")]
    end = next((line.split("=", 1)[1] for line in run.stdout.splitlines() if line.startswith("notAfter=")), "?")
    evidence = {"notAfter": end, "dnsNames": ", ".join(names) or "(none)", "domain": domain}
    wildcard = "*." + domain.split(".", 1)[-1]
    problems = []
    if not current:
        problems.append(f"expired ({end})")
    if domain not in names and wildcard not in names:
        problems.append(f"does not name {domain}")
    if problems:
        return False, "TURN certificate " + " and ".join(problems), evidence
    return True, f"TURN certificate names {domain}, valid until {end}", evidence
