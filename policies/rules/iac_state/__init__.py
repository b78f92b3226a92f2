"""iac-state: the stack's state and the key guarding its secrets stay under EU control.

State holds every resource's inputs, secrets included (encrypted), so it must live on a self-managed
backend: a local `file://` directory, an S3 bucket at an EU provider (OVHcloud, Scaleway, Outscale) or a
gouv.fr host, never Pulumi Cloud (the default when no backend is given). Hosts are judged by the
sovereignty package, strictly (location and operator law) whatever the profile. Secrets are encrypted
with a passphrase or a self-hosted Vault (`hashivault://` reads its address from VAULT_ADDR, which the
operator's environment pins). Cloud KMS keys of US providers are refused under secnumcloud whatever
their region; under eu-residency an AWS or GCP key is accepted in an allowed region, an Azure Key
Vault URL does not say where it is and is refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

from policies.engine.model import Resource, ResourceRef, StackFacts, Violation
from policies.engine.rule import Context, Rule
from policies.sovereignty import EndpointSyntaxError, judge_for

FOREIGN_SCHEMES = {"azblob": "Azure Blob Storage (US)", "gs": "Google Cloud Storage (US)"}
KMS_SCHEMES = {"awskms": "AWS KMS (US)", "azurekeyvault": "Azure Key Vault (US)", "gcpkms": "Google Cloud KMS (US)"}


def judge_host(endpoint: str, trusted: Sequence[str]) -> str | None:
    """Why `endpoint` may not hold state, None when it may.

    State is judged strictly whatever the profile: the endpoint must be internal, trusted, or located
    in the EU/EEA with an operator under EU/EEA law (the sovereignty judge, offline tables).
    """
    if "@" in endpoint or "\\" in endpoint:
        return "the endpoint carries userinfo or a backslash; refusing to guess which host is meant"
    try:
        verdict = judge_for("secnumcloud", tuple(trusted), False).judge(endpoint)
    except EndpointSyntaxError as exc:
        return f"the endpoint cannot be read ({exc})"
    return None if verdict.acceptable("secnumcloud") else verdict.describe()


def _backend(stack: StackFacts, trusted: Sequence[str]) -> Iterator[Violation]:
    url = (stack.backend_url or "").strip()
    evidence = {"backend": url or "(default)"}
    if not url:
        yield Violation("backend.url", "no backend given: Pulumi defaults to Pulumi Cloud (Pulumi Corp., US)",
                        evidence)
        return
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "file":
        return
    if scheme in FOREIGN_SCHEMES:
        yield Violation("backend.url", f"state stored in {FOREIGN_SCHEMES[scheme]}", evidence)
        return
    if scheme == "s3":
        endpoints = parse_qs(urlsplit(url).query).get("endpoint", [])
        if len(endpoints) != 1:
            yield Violation("backend.url", "s3:// state without exactly one endpoint= goes to AWS S3 (US)",
                            evidence)
            return
        endpoint = endpoints[0]
    elif scheme in ("https", "http", "postgres", "postgresql"):
        endpoint = url
        host = (urlsplit(url).hostname or "").rstrip(".")
        if host == "pulumi.com" or host.endswith(".pulumi.com"):
            yield Violation("backend.url", "state stored in Pulumi Cloud (Pulumi Corp., US)", evidence)
            return
    else:
        yield Violation("backend.url", f"unknown backend scheme {scheme or url!r}", evidence)
        return
    problem = judge_host(endpoint, trusted)
    if problem is not None:
        yield Violation("backend.url", f"state endpoint is not EU-operated or self-managed: {problem}",
                        {**evidence, "endpoint": endpoint})
    if scheme == "http":
        yield Violation("backend.url", "state backend reached over plain http", evidence)


def _secrets(stack: StackFacts, ctx: Context) -> Iterator[Violation]:
    provider = (stack.secrets_provider or "default").strip()
    scheme = provider.split("://", 1)[0].lower()
    evidence = {"secretsprovider": provider}
    if provider == "passphrase" or scheme == "hashivault":
        return
    if provider == "default":
        backend = (stack.backend_url or "").strip()
        host = (urlsplit(backend).hostname or "").rstrip(".") if "://" in backend else ""
        if not backend or host == "pulumi.com" or host.endswith(".pulumi.com"):
            yield Violation("secretsprovider", "default secrets provider on Pulumi Cloud: the key is held by "
                            "Pulumi Corp. (US); use passphrase or hashivault://", evidence)
        return
    if scheme not in KMS_SCHEMES:
        yield Violation("secretsprovider", f"unknown secrets provider {provider!r}", evidence)
        return
    what = KMS_SCHEMES[scheme]
    if ctx.config.profile == "secnumcloud":
        yield Violation("secretsprovider", f"secrets key held in {what}, outside EU jurisdiction", evidence)
        return
    allowed = {r.lower() for r in ctx.config.allowedRegions}
    parts = urlsplit(provider)
    if scheme == "awskms":
        where = (parse_qs(parts.query).get("region") or [""])[0]
    elif scheme == "gcpkms":
        segments = parts.path.split("/")
        where = segments[segments.index("locations") + 1] if "locations" in segments[:-1] else ""
    else:
        where = ""
    if where.lower() not in allowed:
        yield Violation("secretsprovider", f"secrets key in {what} at {where or 'an unstated location'}, "
                        "outside the allowed regions", {**evidence, "region": where})


def check_stack(
    resources: Sequence[Resource], ctx: Context
) -> Iterator[tuple[ResourceRef | None, Violation]]:
    if ctx.stack is None:
        return
    for violation in (*_backend(ctx.stack, ctx.config.trustedDomains), *_secrets(ctx.stack, ctx)):
        yield None, violation


RULE = Rule(
    judges=("stack",),
    id="iac-state",
    description="Pulumi state and secrets encryption stay on self-managed, EU-controlled services",
    check_stack=check_stack,
    title="Infrastructure state and secrets",
    severity="critical",
    help=(
        "Keep Pulumi state on a self-managed or EU-controlled backend and encrypt secrets with a passphrase "
        "or an EU-controlled key manager."
    ),
)
