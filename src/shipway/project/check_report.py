"""A ``shipway check`` report as CI systems read it: JUnit XML (one test case per check, one
``<failure>`` per failure) and Markdown, for a pull-request comment or a job summary."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from shipway.project.check import CheckReport

_MARK = {"passed": "✅ passed", "failed": "❌ failed", "skipped": "⏭️ skipped"}


_NOT_XML = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: no control characters, no terminal colour codes."""
    return _NOT_XML.sub("", text)


def junit_xml(report: CheckReport) -> str:
    outcomes = report.outcomes
    failed = sum(o.status == "failed" for o in outcomes)
    suites = ET.Element("testsuites", name="shipway check")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="shipway check",
        tests=str(len(outcomes)),
        failures=str(failed),
        errors="0",
        skipped=str(sum(o.status == "skipped" for o in outcomes)),
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for outcome in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="shipway.check",
            name=outcome.name,
            time=f"{outcome.seconds:.3f}",
        )
        if outcome.failures:  # one <failure> per case, as every JUnit reader expects
            lines = outcome.failures
            first = lines[0] if len(lines) == 1 else f"{len(lines)} failures; {lines[0]}"
            failure = ET.SubElement(case, "failure", message=_xml_text(first), type="shipway.check")
            failure.text = _xml_text("\n".join(lines))
        if outcome.status == "skipped":
            ET.SubElement(case, "skipped", message=_xml_text(outcome.summary))
        said = [outcome.summary, *outcome.notes] if outcome.status != "skipped" else []
        if any(said):
            ET.SubElement(case, "system-out").text = _xml_text("\n".join(s for s in said if s))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def markdown(report: CheckReport) -> str:
    failed = len(report.failure_lines())
    verdict = "passed" if report.ok else f"failed ({failed} failure{'' if failed == 1 else 's'})"
    lines = [
        f"## shipway check: {verdict}",
        "",
        "| check | result | details |",
        "|---|---|---|",
    ]
    for outcome in report.outcomes:
        details = "; ".join(s for s in (outcome.summary, *outcome.notes) if s)
        lines.append(f"| {outcome.name} | {_MARK[outcome.status]} | {_cell(details)} |")
    if not report.ok:
        lines += ["", "### Failures", ""]
        lines += [
            f"- **{line.split(':', 1)[0]}**: {_cell(line.split(':', 1)[1].strip())}"
            for line in report.failure_lines()
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text that keeps a Markdown table's shape."""
    return text.replace("|", "\\|").replace("\n", " ")


def write(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
