"""`visio audit` on input written to break it: every run ends in a verdict (0/1) or one `error:` line
(2), never a traceback; a crash has its own exit code; every report format stays well-formed."""

from __future__ import annotations

import json
import os
import stat
import xml.dom.minidom
from pathlib import Path

import pytest

from tests.cli.test_audit_bad_input import assert_one_error, audit, write
from tests.conftest import one_target

US_BUCKET = "https://s3.amazonaws.com/bucket"


def configmap(name: str, url: str = US_BUCKET) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"url": url}})


@pytest.mark.parametrize(
    ("name", "text", "fragments"),
    [
        ("long.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec: " + "9" * 5000 + "\n",
         ("line 4", "too long")),
        ("long.json", '{"apiVersion": "v1", "kind": "ConfigMap",\n "x": ' + "9" * 5000 + "}", ("line 2", "too long")),
        ("nan.json", '{"apiVersion": "v1", "kind": "ConfigMap", "x": NaN}', ("NaN is not a JSON number",)),
        ("inf.yaml", "apiVersion: v1\nkind: ConfigMap\nx: .inf\n", ("line 3", "not a JSON number")),
        ("kind-long.yaml", "apiVersion: v1\nkind: " + "K" * 300 + "\n", ("kind", "not a Kubernetes kind")),
        ("kind-path.yaml", "apiVersion: v1\nkind: ../../../tmp/x\n", ("kind", "not a Kubernetes kind")),
        ("kind-nul.yaml", 'apiVersion: v1\nkind: "Config\\0Map"\n', ("kind", "not a Kubernetes kind")),
        ("api-path.yaml", "apiVersion: ../v1\nkind: ConfigMap\n", ("apiVersion", "not a Kubernetes apiVersion")),
        ("timestamp.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, creationTimestamp: "
         "!!timestamp not-a-date}\n", ("line 3", "!!timestamp tag is not accepted")),
        ("binary.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata: {k: !!binary aGk=}\n",
         ("line 4", "!!binary tag is not accepted")),
    ],
    ids=lambda v: v if isinstance(v, str) and v.endswith((".yaml", ".json")) else "",
)
def test_hostile_manifest_is_one_error_line(tmp_path: Path, name: str, text: str, fragments: tuple[str, ...]) -> None:
    write(tmp_path / name, text)
    assert_one_error(*audit(name, cwd=tmp_path), name, *fragments)


def test_schema_lookup_never_builds_a_path_from_the_kind(tmp_path: Path) -> None:
    from importlib import resources

    from visio.kube import schema
    planted = tmp_path / "evil-v1.json"
    planted.write_text(json.dumps({"type": "object", "required": ["planted"]}))
    directory = Path(str(resources.files("kubernetes_validate"))) / "kubernetes-json-schema" / "v1.31.0-local-strict"
    kind = os.path.relpath(tmp_path / "evil", directory)
    assert kind == kind.lower()
    with pytest.raises(schema.UnknownKind):
        schema.errors({"apiVersion": "v1", "kind": kind}, "1.31")


def test_nesting_too_deep_to_validate_names_the_field(tmp_path: Path) -> None:
    schema: dict[str, object] = {"type": "object"}
    for _ in range(300):
        schema = {"type": "object", "properties": {"a": schema}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "xs.example.fr"},
           "spec": {"group": "example.fr", "names": {"kind": "X", "plural": "xs"}, "scope": "Namespaced",
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": schema}}]}}
    write(tmp_path / "crd.json", json.dumps(crd))
    assert_one_error(*audit("crd.json", cwd=tmp_path), "crd.json",
                     "spec.versions[0].schema.openAPIV3Schema", "too deep to validate")


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ("image: !!binary aGk=\n", "!!binary"),
        ("when: !!timestamp 2026-01-01\n", "!!timestamp"),
        ("names: !!set {a, b}\n", "!!set"),
        ("replicas: " + "1" * 5000 + "\n", "too long"),
    ],
    ids=["binary", "timestamp", "set", "long-integer"],
)
def test_hostile_values_file_is_one_error_line(tmp_path: Path, values: str, fragment: str) -> None:
    write(tmp_path / "chart" / "Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n")
    write(tmp_path / "chart" / "templates" / "cm.yaml",
          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {v: {{ .Values | toJson | quote }}}\n")
    write(tmp_path / "values.yaml", values)
    assert_one_error(*audit("chart", "-f", "values.yaml", cwd=tmp_path), "values.yaml", "line 1", fragment)


HOSTILE_NAME = "a[/x][bold red]b\x01\x1b[31m\u202e\ud800c"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "html"])
def test_every_report_format_is_well_formed_whatever_the_names(tmp_path: Path, fmt: str) -> None:
    write(tmp_path / "m.json", configmap(HOSTILE_NAME))
    result, _ = audit("m.json", "--format", fmt, "--report", f"{fmt if fmt != 'text' else 'json'}=r.out",
                      cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    written = (tmp_path / "r.out").read_bytes().decode("utf-8")  # strict UTF-8: no lone surrogate
    shown = result.stdout
    assert "\x1b" not in shown + written and "\x01" not in shown + written and "\u202e" not in shown
    if fmt == "text":
        assert "a[/x][bold red]b\\x01\\x1b[31m\\u202e" in shown  # markup shown as typed, controls visible
    elif fmt in ("json", "sarif"):
        json.loads(shown)
        assert "\\ud800" not in shown.lower()
    elif fmt == "junit":
        xml.dom.minidom.parseString(shown.encode("utf-8"))
        assert "\\x01" in shown
    else:
        assert "\\x01" in shown


def test_lone_surrogate_becomes_the_replacement_character_as_in_the_api_server(tmp_path: Path) -> None:
    write(tmp_path / "m.json", configmap("web\ud800"))
    result, _ = audit("m.json", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert one_target(result.stdout, "audit")["findings"][0]["resource"]["name"] == "web\ufffd"


def test_credentials_in_urls_are_never_printed(tmp_path: Path) -> None:
    write(tmp_path / "m.json", configmap("web", "https://svc:hunter2pw@s3.amazonaws.com/bucket"))
    for fmt in ("text", "json", "sarif", "junit", "html"):
        result, _ = audit("m.json", "--format", fmt, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert "hunter2pw" not in result.stdout + result.stderr
        assert "s3.amazonaws.com" in result.stdout


def test_today_is_not_a_policy_setting(tmp_path: Path) -> None:
    # An exemption that expired in 2021 must not come back into force by turning a clock back.
    write(tmp_path / "m.json", configmap("web"))
    write(tmp_path / "policy.yaml", "today: 2021-01-01\nexemptions:\n  - rule: endpoint-sovereignty\n"
          "    resource: {kind: ConfigMap}\n    justification: legacy bucket until migration\n"
          "    approver: rssi@interieur.gouv.fr\n    expiry: 2021-06-30\n")
    assert_one_error(*audit("--policy-config", "policy.yaml", "m.json", cwd=tmp_path), "policy.yaml", "today",
                     "unknown key")


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_output_never_replaces_an_input(tmp_path: Path) -> None:
    write(tmp_path / "m.json", configmap("web"))
    before = (tmp_path / "m.json").read_text()
    assert_one_error(*audit("m.json", "--format", "json", "-o", "m.json", cwd=tmp_path), "m.json", "inputs")
    write(tmp_path / "dir" / "a.json", configmap("web"))
    assert_one_error(*audit("dir", "--format", "sarif", "-o", "dir/a.json", cwd=tmp_path), "dir/a.json", "inputs")
    assert (tmp_path / "m.json").read_text() == before
    assert _leftovers(tmp_path) == []


def test_output_never_replaces_a_read_only_file(tmp_path: Path) -> None:
    write(tmp_path / "m.json", configmap("web"))
    write(tmp_path / "kept.json", "{}\n")
    os.chmod(tmp_path / "kept.json", stat.S_IRUSR | stat.S_IRGRP)
    assert_one_error(*audit("m.json", "--format", "json", "-o", "kept.json", cwd=tmp_path), "kept.json", "read-only")
    assert (tmp_path / "kept.json").read_text() == "{}\n"


def test_reports_are_written_all_or_none(tmp_path: Path) -> None:
    write(tmp_path / "m.json", configmap("web"))
    (tmp_path / "blocked").write_text("a file where a directory is needed\n")
    result, elapsed = audit("m.json", "--report", "json=out/first.json", "--report", "sarif=blocked/second.sarif",
                            cwd=tmp_path)
    assert_one_error(result, elapsed, "blocked/second.sarif", "cannot write")
    assert not (tmp_path / "out" / "first.json").exists()
    assert not (tmp_path / "out").exists() or _leftovers(tmp_path / "out") == []


def test_a_crash_has_its_own_exit_code_and_one_line(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from visio import cli
    from visio.audit import command as audit_command

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unexpected state at https://svc:hunter2pw@example.fr")

    monkeypatch.setattr(audit_command, "collect", crash)
    for debug in ([], ["--debug"]):
        with pytest.raises(SystemExit) as exited:
            cli.main(["audit", str(tmp_path), *debug])
        assert exited.value.code == cli.EXIT_CRASH
        stderr = capsys.readouterr().err
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("error: internal error (RuntimeError: unexpected state") and "--debug" in last
        assert "hunter2pw" not in last
        assert ("Traceback" in stderr) == bool(debug)
