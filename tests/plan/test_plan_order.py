"""Written manifests come in apply order whatever order the program registered them in."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import run_visio


def _documents(path: Path) -> list[tuple[str, str]]:
    return [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(path.read_text())]


def test_two_plans_write_the_same_files_namespaces_and_policies_first(tmp_path: Path) -> None:
    for run in ("a", "b"):
        result = run_visio("plan", "dev", "--out", str(tmp_path / run))
        assert result.returncode in (0, 1), result.stderr
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.yaml"))
    assert files
    for f in files:
        assert (tmp_path / "a" / f).read_text() == (tmp_path / "b" / f).read_text(), f
    cluster = _documents(tmp_path / "a" / "dev" / "cluster.yaml")
    assert cluster[0][0] == "Namespace"
    media = [kind for kind, _ in _documents(tmp_path / "a" / "dev" / "visio-media.yaml")]
    assert media.index("NetworkPolicy") < media.index("Deployment")
