"""Bad stack files are refused with one line naming the file and key path, exit code 2."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, run_visio

BASE = ROOT / "stacks" / "Pulumi.interieur-prod.yaml"
PLAIN_SECRET = "hunter2-plain-proconnect-secret"
CIPHERTEXT = yaml.safe_load(BASE.read_text())["config"]["visio:identity"]["proconnect"]["clientSecret"]["secure"]

Doc = dict[str, Any]


def at(doc: Doc, key: str) -> Any:
    return doc["config"][f"visio:{key}"]


def setter(key: str, path: str, value: Any) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        node = at(doc, key)
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def delete(key: str) -> Callable[[Doc], None]:
    return lambda doc: doc["config"].pop(f"visio:{key}")


CASES: list[tuple[str, Callable[[Doc], None], str]] = [
    ("unknown-key", setter("media", "udpPortRnage", {"start": 1, "end": 2}), "visio:media.udpPortRnage: unknown key"),
    ("wrong-type", setter("capacity", "peakConcurrentParticipants", "lots"),
     "visio:capacity.peakConcurrentParticipants: Input should be a valid integer"),
    ("region-not-offered", setter("cluster", "region", "fr-par"),
     "visio:cluster.region: 'fr-par' is not offered by outscale"),
    ("region-outside-eu", lambda d: (setter("cluster", "region", "us-east-2")(d),
                                      setter("cluster", "zones", ["us-east-2a"])(d)),
     "visio:cluster.region: outscale us-east-2 is in US, outside the EU/EEA"),
    ("zone-of-other-region", setter("cluster", "zones", ["cloudgouv-eu-west-1a", "eu-west-2b"]),
     "visio:cluster.zones[1]: 'eu-west-2b' is not a zone of outscale cloudgouv-eu-west-1"),
    ("udp-range-reversed", setter("media", "udpPortRange", {"start": 60000, "end": 50000}),
     "visio:media.udpPortRange.end: must be greater than start"),
    ("captioning-without-gpu", lambda d: at(d, "captioning").pop("gpuNodePool"),
     "visio:captioning.gpuNodePool: required when captioning is enabled"),
    ("domain-not-fqdn", setter("domains", "web", "visio_interieur"),
     "visio:domains.web: 'visio_interieur' is not a valid lower-case fully qualified domain name"),
    ("secure-where-plain", setter("domains", "web", {"secure": CIPHERTEXT}),
     "visio:domains.web: must be a plain value, not a secret"),
    ("plain-where-secure", setter("identity", "proconnect.clientSecret", PLAIN_SECRET),
     "visio:identity.proconnect.clientSecret: must be a secret (`pulumi config set --secret`), not a plain value"),
    ("kubernetes-too-old", setter("cluster", "kubernetesVersion", "1.20"),
     "visio:cluster.kubernetesVersion: '1.20' is not supported"),
    ("environment-enum", lambda d: d["config"].__setitem__("visio:environment", "production"),
     "visio:environment: Input should be 'prod', 'staging' or 'dev'"),
    ("missing-capacity", delete("capacity"), "visio:capacity: required key is missing"),
    ("relay-overlaps-sfu", setter("media", "turn.relayPortRange", {"start": 55000, "end": 65000}),
     "visio:media.turn.relayPortRange: overlaps udpPortRange"),
    ("prod-missing-digest", lambda d: at(d, "registry")["digests"].pop("keycloak"),
     "visio:registry.digests.keycloak: production stacks pin every image by digest"),
    ("bad-digest", setter("registry", "digests.redis", "sha256:1234"),
     "visio:registry.digests.redis: String should match pattern"),
    ("issuer-http", setter("identity", "proconnect.issuer", "http://auth.proconnect.gouv.fr/api/v2"),
     "visio:identity.proconnect.issuer: 'http://auth.proconnect.gouv.fr/api/v2' is not an https:// URL"),
    ("issuer-with-credentials", setter("identity", "proconnect.issuer",
                                        f"http://svc:{PLAIN_SECRET}@auth.proconnect.gouv.fr/api/v2"),
     "visio:identity.proconnect.issuer: 'http://[redacted]@auth.proconnect.gouv.fr/api/v2' is not an https:// URL"),
    ("ciphertext-corrupted", setter("identity", "proconnect.clientSecret", {"secure": CIPHERTEXT[:-6] + "%%%%"}),
     "visio:identity.proconnect.clientSecret: secure value is corrupted ciphertext (not base64)"),
    ("ciphertext-truncated", setter("identity", "proconnect.clientSecret", {"secure": CIPHERTEXT[:24]}),
     "visio:identity.proconnect.clientSecret: secure value is corrupted ciphertext (truncated)"),
    ("ciphertext-not-pulumi", setter("identity", "proconnect.clientSecret", {"secure": "hunter2"}),
     "visio:identity.proconnect.clientSecret: secure value is not a Pulumi ciphertext"),
    ("room-bigger-than-peak", setter("capacity", "peakConcurrentParticipants", 10),
     "visio:capacity.participantsPerRoom: cannot exceed peakConcurrentParticipants"),
    ("turn-port-enum", setter("media", "turn.tlsPort", 8443), "visio:media.turn.tlsPort: Input should be 443 or 5349"),
    ("bool-as-string", setter("captioning", "enabled", "yes"),
     "visio:captioning.enabled: Input should be a valid boolean"),
    ("keycloak-with-proconnect", setter("identity", "provider", "keycloak"),
     "visio:identity.proconnect: only allowed when provider is proconnect"),
    ("on-premises-without-country", lambda d: (setter("cluster", "provider", "on-premises")(d),
                                                setter("cluster", "region", "fr-lab")(d)),
     "visio:cluster.country: required for on-premises clusters"),
    ("same-domain-twice", setter("domains", "media", "visio.interieur.gouv.fr"),
     "visio:domains.media: must differ from the other domains"),
    ("unknown-namespace-format", lambda d: d["config"].__setitem__("media", {}),
     "media: config keys are written <namespace>:<key>"),
]


def write_stack(tmp_path: Path, doc: Doc) -> Path:
    path = tmp_path / "Pulumi.interieur-prod.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_stack_is_refused_with_key_path(tmp_path: Path, mutate: Callable[[Doc], None], expected: str) -> None:
    doc = copy.deepcopy(yaml.safe_load(BASE.read_text()))
    mutate(doc)
    path = write_stack(tmp_path, doc)
    result = run_visio("validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {path}: {expected}"), lines
    assert all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in result.stderr
    for secret in (PLAIN_SECRET, CIPHERTEXT):
        assert secret not in result.stdout + result.stderr


def test_at_least_fifteen_distinct_key_paths() -> None:
    assert len({c[2].split(": ")[0] for c in CASES}) >= 15


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text("config:\n  visio:ministry: [unclosed\n")
    result = run_visio("validate", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}: invalid YAML: line 3")
    assert "Traceback" not in result.stderr


def test_every_example_stack_validates() -> None:
    result = run_visio("validate", "--all")
    assert result.returncode == 0, result.stderr
    files = (ROOT / "stacks").glob("Pulumi.*.yaml")
    names = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in files)
    assert len(names) >= 4
    assert [line.split()[-1] for line in result.stdout.splitlines()] == names


def test_validate_needs_a_stack_or_all() -> None:
    result = run_visio("validate")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: give one STACK or --all"
