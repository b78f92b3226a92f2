"""Generated manifests, hostile ones among them, against the exit-code contract of `visio audit`:
0 or 1 is a verdict, 2 is unusable input said in `error:` lines, and nothing else ever happens: no
crash, no traceback, no report that does not parse. Examples are derived from the test's own code
(derandomized), bounded in number, and each run is bounded in time and memory like a user's."""

from __future__ import annotations

import json
import tempfile
import xml.dom.minidom
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.test_audit_bad_input import audit

BIG_INTEGER = "9" * 5000
HOSTILE_TEXT = [
    "[/x]", "[bold red]x", "\x1b[31m", "\x00", "\x01", "\ud800", "\u202e", "https://u:p@s3.amazonaws.com/b",
    "docker.io/library/nginx", "redis://10.0.0.1:6379", "http://example.com", "../../etc/passwd", "\ufeff",
    "BIG_INTEGER", "a" * 300,
]
KINDS = ["ConfigMap", "Secret", "Deployment", "Pod", "Service", "Namespace", "NetworkPolicy", "Ingress", "Job",
         "List", "ConfigMapList", "Widget", "K" * 300, "../x", "a/b", "Con\x00fig", ""]
API_VERSIONS = ["v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "example.fr/v1", "", "../v1", "a/b/c"]

text = st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE_TEXT))
leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), text)
value = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(text, inner, max_size=3)), max_leaves=12)


@st.composite
def manifest(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": draw(st.sampled_from(API_VERSIONS)), "kind": draw(st.sampled_from(KINDS))}
    if draw(st.booleans()):
        doc["metadata"] = {"name": draw(text), **({"namespace": draw(text)} if draw(st.booleans()) else {})}
    for field in ("data", "binaryData", "spec", "stringData"):
        if draw(st.integers(0, 3)) == 0:
            doc[field] = draw(value)
    if depth < 3 and (doc["kind"].endswith("List") or draw(st.integers(0, 5)) == 0):
        doc["items"] = draw(st.lists(manifest(depth + 1), max_size=3))
    return doc


def _text(docs: list[dict[str, Any]], as_yaml: bool) -> tuple[str, str]:
    if as_yaml:
        try:
            return "m.yaml", yaml.safe_dump_all(docs).replace("BIG_INTEGER", BIG_INTEGER)
        except yaml.YAMLError:
            pass  # what YAML cannot represent goes out as JSON
    doc = docs[0] if len(docs) == 1 else {"apiVersion": "v1", "kind": "List", "items": docs}
    return "m.json", json.dumps(doc).replace('"BIG_INTEGER"', BIG_INTEGER)


def _well_formed(fmt: str, stdout: str) -> None:
    if fmt in ("json", "sarif"):
        json.loads(stdout)
    elif fmt == "junit":
        xml.dom.minidom.parseString(stdout.encode("utf-8"))
    stdout.encode("utf-8")  # strict: no lone surrogate reached the output


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(docs=st.lists(manifest(), min_size=1, max_size=3), as_yaml=st.booleans(),
       fmt=st.sampled_from(["text", "json", "sarif", "junit", "html"]))
def test_every_generated_manifest_gets_a_verdict_or_one_error_per_problem(docs: list[dict[str, Any]], as_yaml: bool,
                                                                            fmt: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        name, content = _text(docs, as_yaml)
        Path(directory, name).write_text(content, encoding="utf-8", errors="surrogatepass")
        result, _elapsed = audit(name, "--format", fmt, cwd=Path(directory))
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode in (0, 1, 2), (result.returncode, result.stderr)
    if result.returncode == 2:
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    else:
        _well_formed(fmt, result.stdout)
