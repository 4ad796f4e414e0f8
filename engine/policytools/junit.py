"""JUnit XML for CI: one ``testsuite`` per policy, one ``testcase`` per case, and one more,
``rule coverage``, that fails when the policy's coverage is below the minimum."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from .testreport import uncovered_rules
from .testrun import PolicyResult


def junit_xml(results: Sequence[PolicyResult]) -> bytes:
    root = ET.Element("testsuites", name="learnexport policy test")
    for r in results:
        name = f"policy {r.policy.id}" if r.policy else f"policy {r.path}"
        suite = ET.SubElement(root, "testsuite", name=name, file=r.path)
        classname = f"policy.{r.policy.id if r.policy else r.path}"
        failures = 0
        for case in r.cases:
            file, _, line = case.source.rpartition(":")
            where = {"file": file, "line": line} if line.isdigit() else {"file": case.source}
            node = ET.SubElement(suite, "testcase", {"classname": classname,
                                                     "name": case.name, **where,
                                                     "time": f"{case.seconds:.3f}"})
            if not case.passed:
                failures += 1
                failure = ET.SubElement(node, "failure", message=(case.problems or ("",))[0])
                failure.text = "\n".join(case.problems)
        node = ET.SubElement(suite, "testcase", classname=classname, name="rule coverage",
                             file=r.path, time="0")
        if not r.coverage_ok:
            failures += 1
            message = r.error or (f"rule coverage {r.coverage:.0f}% is below the minimum "
                                  f"{r.min_coverage:g}%")
            failure = ET.SubElement(node, "failure", message=message)
            failure.text = "\n".join([message, *uncovered_rules(r)])
        suite.set("tests", str(len(r.cases) + 1))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
