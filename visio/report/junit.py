"""JUnit XML for CI test reports: a test suite per target, a test case per rule.

A rule fails its test case when it has a mandatory finding; advisory and exempted findings are listed
in the case's output so they stay visible without failing the pipeline.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from policies.engine.catalog import catalog
from policies.engine.report import Finding
from visio.report.target import Target, location


def _line(finding: Finding) -> str:
    evidence = ", ".join(f"{k}={v}" for k, v in finding.evidence.items())
    tail = f" [{evidence}]" if evidence else ""
    at = location(finding)
    where = f" ({at})" if at else ""
    return f"{finding.enforcement}: {finding.resource}{where}: {finding.path or '-'}: {finding.message}{tail}"


def render(targets: Sequence[Target]) -> str:
    root = ET.Element("testsuites", name="visio")
    total = failures = 0
    for target in targets:
        suite = ET.SubElement(root, "testsuite", name=target.name)
        suite_failures = 0
        infos = catalog()
        ids = list(infos)
        for rule in ids:
            info = infos[rule]
            case = ET.SubElement(suite, "testcase", classname=f"visio.{target.name}", name=rule)
            properties = ET.SubElement(case, "properties")
            for name, value in (("title", info.title), ("severity", info.severity), ("help", info.help),
                                ("helpUri", info.help_uri)):
                ET.SubElement(properties, "property", name=name, value=value)
            mandatory = [f for f in target.report.findings if f.rule == rule and f.enforcement == "mandatory"]
            others = [f for f in target.report.findings if f.rule == rule and f.enforcement != "mandatory"]
            exempted = [f for f in target.report.exempted if f.rule == rule]
            if mandatory:
                suite_failures += 1
                failure = ET.SubElement(
                    case, "failure", message=f"{len(mandatory)} mandatory finding(s), {info.severity}: {info.title}",
                    type="mandatory",
                )
                failure.text = "\n".join([*(_line(f) for f in mandatory), f"{info.help} ({info.help_uri})"])
            notes = [_line(f) for f in others] + [
                f"exempted by {f.exempted_by.approver if f.exempted_by else '?'}: {_line(f)}" for f in exempted
            ]
            if notes:
                ET.SubElement(case, "system-out").text = "\n".join(notes)
        suite.set("tests", str(len(ids)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        total += len(ids)
        failures += suite_failures
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
