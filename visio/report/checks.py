"""Reports of `visio verify`: each check passes or fails, so JUnit gets one test case per check.

JSON, SARIF and HTML reuse the engine report renderers: a failed check becomes a mandatory finding
whose rule id is the check id, on the target that was checked; JSON also lists every check.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from policies.engine.model import ResourceRef
from policies.engine.report import Finding, Report
from visio.report.checkresult import CheckResult
from visio.report.target import Target


def _evidence(result: CheckResult) -> str:
    return "\n".join(f"{k}: {v}" for k, v in result.evidence.items())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def junit(suite: str, results: Sequence[CheckResult]) -> str:
    root = ET.Element("testsuites", name="visio verify")
    failures = sum(not r.passed for r in results)
    element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)), failures=str(failures),
                            errors="0", skipped="0")
    for r in results:
        case = ET.SubElement(element, "testcase", classname=f"visio.verify.{_slug(suite)}",
                             name=f"{r.check} [{r.target}]")
        if not r.passed:
            ET.SubElement(case, "failure", message=r.message, type="check-failed").text = _evidence(r)
        else:
            ET.SubElement(case, "system-out").text = "\n".join([r.message, _evidence(r)]).strip()
    for key, value in (("tests", len(results)), ("failures", failures), ("errors", 0)):
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def as_target(suite: str, results: Sequence[CheckResult]) -> Target:
    findings = [
        Finding(rule=r.check, enforcement="mandatory", resource=ResourceRef("Check", r.target), path=r.check,
                message=r.message, evidence=dict(r.evidence), source=r.target)
        for r in results if not r.passed
    ]
    if not results:  # nothing proven is not a pass
        findings.append(Finding(rule="no-checks", enforcement="mandatory", resource=ResourceRef("Check", suite),
                                path="", message="no check ran", source=suite))
    return Target(name=suite, report=Report(findings, [], []), resources=len(results),
                  details={"checks": [r.to_dict() for r in results]})
