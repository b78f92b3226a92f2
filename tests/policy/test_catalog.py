"""The rule catalog: every rule folder is registered, carries its report metadata, and has its row in
docs/policies.md, which lists exactly the catalog."""

from __future__ import annotations

import re
from pathlib import Path

from policies.engine.catalog import DOCS_URI, catalog
from policies.rules import ALL_RULES

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "policies" / "rules"
DOCS = ROOT / "docs" / "policies.md"
ROW = re.compile(r'^\| <a id="rule-([a-z-]+)"></a>`([a-z-]+)` \|', re.MULTILINE)


def test_every_rule_folder_is_registered() -> None:
    folders = {p.name for p in RULES_DIR.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert folders == {rule.id.replace("-", "_") for rule in ALL_RULES}


def test_every_finding_id_has_title_severity_help_and_a_docs_link() -> None:
    for info in catalog().values():
        assert info.title and info.help and info.description, info.id
        assert info.severity in {"critical", "high", "medium", "low"}
        assert info.help_uri == f"{DOCS_URI}#rule-{info.id}"


def test_docs_rules_tables_list_exactly_the_catalog_in_order() -> None:
    rows = ROW.findall(DOCS.read_text(encoding="utf-8"))
    assert all(anchor == rule_id for anchor, rule_id in rows), rows
    assert [rule_id for _, rule_id in rows] == list(catalog())


def test_docs_enforcement_table_is_the_catalog() -> None:
    from policies.admission.where import table

    found = re.search(r"<!-- enforcement -->\n(.*?)\n<!-- /enforcement -->", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, "docs/policies.md: the <!-- enforcement --> table is missing"
    assert found.group(1) == table(), "docs/policies.md: paste policies.admission.where.table() between the markers"
