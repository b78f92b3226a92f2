"""What the TLS provider (pulumi-tls) answers, computed for real under the mock runtime.

Keys, certificates and signing requests are made with `cryptography` exactly as the provider makes
them from the same inputs, so a plan's CA bundle really signs its serving certificate and the
certificate really names the hosts asked for; tests can serve and verify them. A plan is a
prediction, so it is the same on every run of the day: each EC key is derived from the resource's
identity and certificates start at midnight UTC. (A real preview shows them unknown until created.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pulumi.runtime import rpc

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
TYPES = frozenset({PRIVATE_KEY, SELF_SIGNED, CERT_REQUEST, LOCALLY_SIGNED})
_CURVES: dict[str, ec.EllipticCurve] = {"P224": ec.SECP224R1(), "P256": ec.SECP256R1(), "P384": ec.SECP384R1(),
                                        "P521": ec.SECP521R1()}


def _key(inputs: Mapping[str, Any], seed: bytes) -> dict[str, Any]:
    if inputs.get("algorithm") == "ECDSA":
        curve = _CURVES[inputs.get("ecdsaCurve", "P224")]
        scalar = int.from_bytes(hashlib.sha512(seed).digest(), "big") % (curve.group_order - 1) + 1
        key: CertificateIssuerPrivateKeyTypes = ec.derive_private_key(scalar, curve)
    else:
        key = rsa.generate_private_key(65537, int(inputs.get("rsaBits", 2048)))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {"privateKeyPem": pem, "publicKeyPem": public}


def _load_key(pem: str) -> CertificateIssuerPrivateKeyTypes:
    key = serialization.load_pem_private_key(pem.encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key


def _name(subject: Any) -> x509.Name:
    subject = subject if isinstance(subject, Mapping) else {}
    attributes = [(NameOID.COMMON_NAME, subject.get("commonName")), (NameOID.ORGANIZATION_NAME,
                                                                      subject.get("organization"))]
    return x509.Name([x509.NameAttribute(oid, str(value)) for oid, value in attributes if value])


def _uses(builder: x509.CertificateBuilder, inputs: Mapping[str, Any], ca: bool) -> x509.CertificateBuilder:
    uses = set(inputs.get("allowedUses") or ())
    builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature="digital_signature" in uses, content_commitment=False,
        key_encipherment="key_encipherment" in uses, data_encipherment=False, key_agreement=False,
        key_cert_sign="cert_signing" in uses, crl_sign="crl_signing" in uses, encipher_only=False,
        decipher_only=False), critical=True)
    if "server_auth" in uses:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder


def _certificate(subject: x509.Name, issuer: x509.Name, public: Any, signer: CertificateIssuerPrivateKeyTypes,
                 inputs: Mapping[str, Any], ca: bool, dns_names: list[str], seed: bytes) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = now + dt.timedelta(hours=int(inputs.get("validityPeriodHours", 24)))
    serial = int.from_bytes(hashlib.sha256(seed).digest()[:19], "big") | 1
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
               .serial_number(serial).not_valid_before(now).not_valid_after(end))
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]),
                                        critical=False)
    cert = _uses(builder, inputs, ca).sign(signer, hashes.SHA256(), ecdsa_deterministic=_deterministic(signer))
    return {"certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
            "validityStartTime": now.isoformat(), "validityEndTime": end.isoformat(), "readyForRenewal": False}


def _deterministic(key: CertificateIssuerPrivateKeyTypes) -> bool | None:
    # RFC 6979 signatures: the same key and content sign alike on every run.
    return True if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _plain(value: Any) -> Any:
    """An input as a value: secrets reach the mocks wrapped in the engine's signature object."""
    if isinstance(value, Mapping) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return _plain(value.get("value"))
    return value


def outputs(typ: str, raw: Mapping[str, Any], identity: str) -> dict[str, Any]:
    """The outputs the provider adds to a resource's inputs; `identity` names the resource in its stack."""
    inputs = {k: _plain(v) for k, v in raw.items()}
    seed = f"{typ}/{identity}".encode()
    if typ == PRIVATE_KEY:
        return _key(inputs, seed)
    if typ == SELF_SIGNED:
        key = _load_key(str(inputs["privateKeyPem"]))
        name = _name(inputs.get("subject"))
        return _certificate(name, name, key.public_key(), key, inputs, bool(inputs.get("isCaCertificate")),
                            list(inputs.get("dnsNames") or ()), seed)
    if typ == CERT_REQUEST:
        key = _load_key(str(inputs["privateKeyPem"]))
        builder = x509.CertificateSigningRequestBuilder().subject_name(_name(inputs.get("subject")))
        names = list(inputs.get("dnsNames") or ())
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                                            critical=False)
        request = builder.sign(key, hashes.SHA256(), ecdsa_deterministic=_deterministic(key))
        return {"certRequestPem": request.public_bytes(serialization.Encoding.PEM).decode()}
    if typ == LOCALLY_SIGNED:
        request = x509.load_pem_x509_csr(str(inputs["certRequestPem"]).encode())
        ca = x509.load_pem_x509_certificate(str(inputs["caCertPem"]).encode())
        try:
            names = list(request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                         .get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            names = []
        return _certificate(request.subject, ca.subject, request.public_key(),
                            _load_key(str(inputs["caPrivateKeyPem"])), inputs, bool(inputs.get("isCaCertificate")),
                            names, seed)
    return {}
