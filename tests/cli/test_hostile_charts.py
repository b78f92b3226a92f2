"""`visio audit` of a chart someone else wrote: it reads nothing outside the chart, fetches nothing,
and a values-schema violation is reported with its key and Helm's reason."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_audit_bad_input import assert_one_error, audit, write

SECRET = "planted-secret-value-7f3a"


def chart(root: Path, schema: dict[str, object] | None = None, name: str = "thirdparty") -> Path:
    write(root / "Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    write(root / "values.yaml", "port: 80\n")
    write(root / "templates" / "cm.yaml",
          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {port: {{ .Values.port | quote }}}\n")
    if schema is not None:
        write(root / "values.schema.json", json.dumps(schema))
    return root


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = json.dumps({"type": "integer"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def test_remote_schema_reference_is_refused_without_a_request(tmp_path: Path,
                                                               http_server: tuple[str, list[str]]) -> None:
    base, requests = http_server
    chart(tmp_path / "c", {"type": "object", "properties": {"port": {"$ref": f"{base}/port.json"}}})
    assert_one_error(*audit("c", cwd=tmp_path), "c/values.schema.json", "properties.port.$ref",
                     "not a reference inside the schema")
    assert requests == []


@pytest.mark.parametrize("reference", ["file:///etc/passwd", "other.json", "../x.json#/defs/a"])
def test_schema_reference_to_a_file_is_refused(tmp_path: Path, reference: str) -> None:
    chart(tmp_path / "c", {"type": "object", "$defs": {"p": {"$ref": reference}}})
    assert_one_error(*audit("c", cwd=tmp_path), "c/values.schema.json", "$defs.p.$ref")


def test_local_schema_references_are_followed(tmp_path: Path) -> None:
    chart(tmp_path / "c", {"type": "object", "$defs": {"port": {"type": "integer", "maximum": 100}},
                           "properties": {"port": {"$ref": "#/$defs/port"}}})
    write(tmp_path / "v.yaml", "port: 800\n")
    assert_one_error(*audit("c", "-f", "v.yaml", cwd=tmp_path), "c: values: port: maximum: got 800, want 100")


def test_remote_meta_schema_is_refused(tmp_path: Path, http_server: tuple[str, list[str]]) -> None:
    base, requests = http_server
    chart(tmp_path / "c", {"$schema": f"{base}/meta.json", "type": "object"})
    assert_one_error(*audit("c", cwd=tmp_path), "c/values.schema.json", "$schema", "not a meta-schema known offline")
    assert requests == []


def test_only_symlinks_out_of_the_chart_are_refused_and_never_read(tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "Pulumi.prod.yaml", f"config:\n  visio:token: {SECRET}\n")
    root = chart(tmp_path / "c")
    (root / "templates" / "stolen.yaml").symlink_to(tmp_path / "elsewhere" / "Pulumi.prod.yaml")
    (root / "files").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "templates" / "again.yaml").symlink_to(root / "templates" / "cm.yaml")  # inside: fine
    result, _ = audit("c", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert "Pulumi.prod.yaml" not in result.stderr and "elsewhere" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert lines == ["error: c/files: symbolic link to outside the chart, not read",
                     "error: c/templates/stolen.yaml: symbolic link to outside the chart, not read"]


def test_values_schema_violation_names_the_key_and_keeps_helms_reason(tmp_path: Path) -> None:
    chart(tmp_path / "c", {"type": "object", "properties": {
        "port": {"type": "integer", "maximum": 100},
        "tls": {"type": "object", "properties": {"secretName": {"type": "string"}}},
    }})
    write(tmp_path / "v.yaml", "port: 800\ntls: {secretName: 5}\n")
    result, _ = audit("c", "-f", "v.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: c: values: port: maximum: got 800, want 100",
        "error: c: values: tls.secretName: got number, want string",
    ]


def test_subchart_violation_names_the_key_under_the_subchart(tmp_path: Path) -> None:
    chart(tmp_path / "c")
    chart(tmp_path / "c" / "charts" / "db", {"type": "object", "properties": {"port": {"type": "integer"}}}, "db")
    write(tmp_path / "v.yaml", "db: {port: high}\n")
    assert_one_error(*audit("c", "-f", "v.yaml", cwd=tmp_path), "c: values: db.port: got string, want integer")


@pytest.mark.parametrize(
    ("template", "limit", "fragment"),
    [
        ('{{- $s := "xxxxxxxxxxxxxxxx" }}{{- range until 40 }}{{- $s = print $s $s }}{{- end }}{{ len $s }}\n',
         ("--render-memory", "2560"), "2560 MiB of memory"),
        ("{{- range until 2000000000 }}a{{ end }}\n", ("--render-memory", "2560"), "2560 MiB of memory"),
        ("{{- range until 30000000 }}{{ range until 100 }}{{ end }}{{ end }}\n", ("--render-timeout", "2"), "2 s"),
    ],
    ids=["string-doubling", "huge-range", "endless-loop"],
)
def test_chart_that_exhausts_the_renderer_is_stopped(tmp_path: Path, template: str, limit: tuple[str, str],
                                                     fragment: str) -> None:
    root = chart(tmp_path / "c")
    write(root / "templates" / "bomb.yaml", template)
    assert_one_error(*audit("c", *limit, cwd=tmp_path), "c: chart could not be rendered within limits", fragment)


def test_include_recursion_is_one_short_line(tmp_path: Path) -> None:
    root = chart(tmp_path / "c")
    write(root / "templates" / "bomb.yaml", '{{- define "x" }}{{ include "x" . }}{{ include "x" . }}{{ end }}'
          '{{ include "x" . }}\n')
    line = assert_one_error(*audit("c", cwd=tmp_path), "c: template: thirdparty/templates/bomb.yaml",
                            "nested reference")
    assert len(line) < 1000
