"""`visio audit` on unusable input: exit 2, one `error:` line naming the file (and key path), quickly,
in bounded memory, never a traceback. Runs the installed CLI as a user would."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import one_target

ROOT = Path(__file__).resolve().parents[2]
VISIO = ROOT / ".venv" / "bin" / "visio"
MEMORY_LIMIT = int(1.5 * 1024**3)
TIME_LIMIT = 20.0  # seconds, a generous ceiling for a slow CI machine; typical runs take ~1-2 s


def _limit_memory() -> None:
    # RLIMIT_DATA bounds what the process actually allocates (heap, anonymous memory). RLIMIT_AS would
    # also count the ~1.7 GiB of address space the Helm library's Go runtime reserves unused at load.
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_LIMIT, MEMORY_LIMIT))


def audit(*args: str | Path, cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [str(VISIO), "audit", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "NO_COLOR": "1"}, preexec_fn=_limit_memory,
    )
    return result, time.monotonic() - started


def assert_one_error(result: subprocess.CompletedProcess[str], elapsed: float, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert elapsed < TIME_LIMIT
    return errors[0]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_broken_yaml(tmp_path: Path) -> None:
    write(tmp_path / "broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n")
    line = assert_one_error(*audit("broken.yaml", cwd=tmp_path), "broken.yaml", "invalid YAML")
    assert "line 3" in line or "line 4" in line


def test_alias_bomb_is_refused_without_expanding(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    write(tmp_path / "lol.yaml", "\n".join(lines) + "\n")
    assert_one_error(*audit("lol.yaml", cwd=tmp_path), "lol.yaml", "aliases are not accepted")


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "image.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert_one_error(*audit("image.yaml", cwd=tmp_path), "image.yaml", "binary")


def test_hundred_megabyte_file(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("wb") as f:
        f.write(b"apiVersion: v1\nkind: ConfigMap\n")
        f.truncate(100 * 1024 * 1024)  # sparse: instant to create, 100 MiB to whoever reads it
    assert_one_error(*audit(big, cwd=tmp_path), "huge.yaml", "100 MiB")


@pytest.mark.parametrize("name", ["deep.json", "deep.yaml"])
def test_deep_nesting(tmp_path: Path, name: str) -> None:
    write(tmp_path / name, "[" * 100_000 + "]" * 100_000)
    assert_one_error(*audit(name, cwd=tmp_path), name, "nesting")


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    write(tmp_path / "evil.yaml", "apiVersion: v1\nkind: !!python/object/apply:os.system [touch pwned]\n")
    assert_one_error(*audit("evil.yaml", cwd=tmp_path), "evil.yaml", "invalid YAML")
    assert not (tmp_path / "pwned").exists()


def test_directory_without_manifests(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "README.md", "nothing to audit\n")
    assert_one_error(*audit("docs", cwd=tmp_path), "docs", "no Kubernetes objects")


def test_missing_path(tmp_path: Path) -> None:
    assert_one_error(*audit("nowhere/app.yaml", cwd=tmp_path), "nowhere/app.yaml", "no such file")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: 5\n", ("metadata", "must be a mapping")),
        ("apiVersion: v1\nkind: [1]\nmetadata: {name: x}\n", ("kind", "must be a non-empty string")),
        ("kind: ConfigMap\nmetadata: {name: x}\n", ("apiVersion", "missing")),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 7}\n", ("metadata.name", "must be a string")),
        ("- just\n- a list\n", ("expected a Kubernetes object",)),
        (
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: []\n",
            ("items[0].metadata", "must be a mapping"),
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
            "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
            "    spec:\n      containers:\n        - name: web\n          image: registry.gouv.fr/web@sha256:"
            + "a" * 64 + "\n          ports: [{containerPort: eighty}]\n",
            ("spec.template.spec.containers[0].ports[0].containerPort", "integer"),
        ),
    ],
    ids=["metadata-number", "kind-list", "no-apiVersion", "name-number", "not-an-object", "list-item",
         "port-string"],
)
def test_wrong_field_types_in_manifest(tmp_path: Path, text: str, fragments: tuple[str, ...]) -> None:
    # Alone, the document leaves nothing to audit: unusable input.
    write(tmp_path / "alone" / "app.yaml", text)
    assert_one_error(*audit("alone", cwd=tmp_path), "alone/app.yaml", *fragments)
    # Beside a usable one, it is a mandatory finding naming the file, the document and the key path.
    write(tmp_path / "m" / "app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\n" + text)
    result, elapsed = audit("m", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout and elapsed < TIME_LIMIT
    refused = [f for f in one_target(result.stdout, "audit")["findings"] if f["rule"] == "unusable-input"]
    assert len(refused) == 1, refused
    for fragment in ("m/app.yaml", "document 2", *fragments):
        assert fragment in refused[0]["message"], refused[0]["message"]
    assert refused[0]["enforcement"] == "mandatory" and refused[0]["origin"]["document"] == 2


def test_invalid_json_manifest(tmp_path: Path) -> None:
    write(tmp_path / "app.json", '{"apiVersion": "v1", "kind": "ConfigMap",,}')
    assert_one_error(*audit("app.json", cwd=tmp_path), "app.json", "invalid JSON", "line 1")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("allowedRegistries: registry.gouv.fr\n", ("allowedRegistries", "valid list")),
        ("allowedRegistries: [1]\n", ("allowedRegistries[0]", "string")),
        ("profile: lenient\n", ("profile",)),
        ("production: perhaps\n", ("production", "boolean")),
        ("allowedRegistrys: [registry.gouv.fr]\n", ("allowedRegistrys", "unknown key")),
        ("enforcement: {image-digest: sometimes}\n", ("enforcement.image-digest",)),
        (
            "exemptions:\n  - rule: image-digest\n    resource: {kind: Deployment}\n"
            "    justification: vendor image has no digest yet\n    approver: rssi@interieur.gouv.fr\n"
            "    expiry: next-year\n",
            ("exemptions[0].expiry", "date"),
        ),
        ("- a\n- b\n", ("mapping",)),
        ("exemptionsFile: missing-exemptions.yaml\n", ("missing-exemptions.yaml", "no such file")),
    ],
    ids=["registries-string", "registry-number", "profile", "production", "typo", "enforcement-level",
         "expiry", "list", "exemptions-file"],
)
def test_wrong_policy_config(tmp_path: Path, text: str, fragments: tuple[str, ...]) -> None:
    write(tmp_path / "ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n")
    write(tmp_path / "policy.yaml", text)
    assert_one_error(*audit("--policy-config", "policy.yaml", "ok.yaml", cwd=tmp_path), *fragments)


def test_policy_config_problem_names_the_file(tmp_path: Path) -> None:
    write(tmp_path / "ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n")
    write(tmp_path / "conf" / "policy.yaml", "allowedRegions: eu-west-par\n")
    assert_one_error(*audit("--policy-config", "conf/policy.yaml", "ok.yaml", cwd=tmp_path),
                     "conf/policy.yaml: allowedRegions:")


def test_broken_chart(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    write(chart / "Chart.yaml", "apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    write(chart / "templates" / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.x.y }\n")
    assert_one_error(*audit(chart, cwd=tmp_path), "chart")
