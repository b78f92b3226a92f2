"""Nothing escapes the audit by the way it is packaged: lists inside lists, data that is not UTF-8,
files in hidden directories, values that cannot be decoded."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_audit_bad_input import assert_one_error, audit, write
from tests.conftest import one_target

BUCKET = "https://s3.amazonaws.com/archives"


def deployment(image: str = "docker.io/library/nginx:1.27") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "edge"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def findings(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    result, _ = audit(*args, "--format", "json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    found: list[dict[str, Any]] = one_target(result.stdout, "audit")["findings"]
    return found


def rules_on(found: list[dict[str, Any]], kind: str) -> set[str]:
    return {f["rule"] for f in found if f["resource"]["kind"] == kind}


@pytest.mark.parametrize("outer", ["List", "DeploymentList"])
def test_a_list_inside_a_list_is_expanded(tmp_path: Path, outer: str) -> None:
    inner = {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "List",
                                                            "items": [deployment()]}]}
    write(tmp_path / "m.json", json.dumps({"apiVersion": "v1", "kind": outer, "items": [inner]}))
    found = findings(tmp_path, "m.json")
    registry = [f for f in found if f["rule"] == "image-registry"]
    assert [f["source"] for f in registry] == ["m.json.items[0].items[0].items[0]"]


def _secret(payload: bytes, kind: str = "Secret") -> str:
    field = "data" if kind == "Secret" else "binaryData"
    return json.dumps({"apiVersion": "v1", "kind": kind, "metadata": {"name": "s", "namespace": "edge"},
                       field: {"app.properties": base64.b64encode(payload).decode()}})


@pytest.mark.parametrize(
    "payload",
    [f"# archives\nstorage.url={BUCKET}/caf\u00e9\n".encode("latin-1"),
     b"\x00\x01\x02JKS" + BUCKET.encode() + b"\x00\xff\xfe"],
    ids=["latin-1", "binary"],
)
@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_encoded_data_is_inspected_whatever_its_encoding(tmp_path: Path, payload: bytes, kind: str) -> None:
    write(tmp_path / "m.json", _secret(payload, kind))
    found = [f for f in findings(tmp_path, "m.json") if f["rule"] == "endpoint-sovereignty"]
    assert [f["evidence"]["endpoint"] for f in found] == ["s3.amazonaws.com"], found


@pytest.mark.parametrize(("profile", "level"), [("secnumcloud", "mandatory"), ("eu-residency", "advisory")])
def test_data_that_cannot_be_decoded_is_reported_not_inspected(tmp_path: Path, profile: str, level: str) -> None:
    write(tmp_path / "m.json", json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                           "data": {"conf": f"url={BUCKET} (not base64)"}}))
    write(tmp_path / "policy.yaml", f"profile: {profile}\n")
    found = [f for f in findings(tmp_path, "--policy-config", "policy.yaml", "m.json") if f["rule"] == "opaque-data"]
    assert [(f["enforcement"], f["path"]) for f in found] == [(level, "data.conf")]
    assert "not inspected" in found[0]["message"]


def test_hidden_directories_are_audited(tmp_path: Path) -> None:
    write(tmp_path / "tree" / "visible.json", json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": "edge"}}))
    write(tmp_path / "tree" / ".overlay" / "web.json", json.dumps(deployment()))
    found = findings(tmp_path, "tree")
    assert "image-registry" in rules_on(found, "Deployment")


def test_links_out_of_an_audited_directory_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "secret" / "Pulumi.prod.yaml", "config:\n  visio:token: planted-token-4d2c\n")
    write(tmp_path / "tree" / "ok.json", json.dumps(deployment("registry.gouv.fr/web@sha256:" + "a" * 64)))
    (tmp_path / "tree" / "stack.yaml").symlink_to(tmp_path / "secret" / "Pulumi.prod.yaml")
    line = assert_one_error(*audit("tree", cwd=tmp_path), "tree/stack.yaml", "symbolic link to outside tree")
    assert "planted-token" not in line and "secret" not in line
