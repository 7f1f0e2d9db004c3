"""``junit.xml``: the run as test cases, for CI systems that draw test results (GitLab, Jenkins, Azure...).

One test case per (check, requirement) pair - ``classname`` is the requirement, ``name`` the check - so a CI
page lists what failed against which clause. A requirement that no selected check traces to still gets one
skipped case, so every applicable requirement is visible.

How verdicts map (JUnit has only passed / failure / error / skipped):
- fail          -> ``<failure type="error|warning">`` (the requirement's severity), message and evidence;
- flaky         -> ``<failure type="flaky">``: it failed at least once, and a flaky MUST fails the run too;
- known failure -> ``<skipped message="known failure: ...">`` with the failures in ``<system-out>``: CI shows
                   it apart from passes without turning the build red, and the evidence stays readable;
- not run       -> ``<skipped message="not run: reason">``.
The requirement totals (the numbers every format agrees on) are the ``<properties>`` of the test suite.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from conformance.reports._common import Case, Catalogue, cases, catalogue_or_default, verdict_line
from conformance.results import Failure, RunResult, Verdict

MAX_FAILURES = 20  # listed per test case; response checks can fail on hundreds of answers
# XML 1.0 cannot carry most control characters, even escaped; evidence may contain them (fuzzed input).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _evidence(failure: Failure) -> str:
    lines = [f"[{failure.requirement}] {failure.title}", failure.text()]
    for exchange in failure.evidence:
        lines.append(f"  {exchange.describe()}  ({exchange.elapsed_ms:g} ms)")
        if exchange.response_body:
            suffix = " ...(truncated)" if exchange.body_truncated else ""
            lines.append(f"  body: {exchange.response_body}{suffix}")
    if failure.curl:
        lines.append(f"  reproduce: {failure.curl}")
    return "\n".join(lines)


def _case_element(suite: ET.Element, case: Case, catalogue: Catalogue) -> ET.Element:
    check = case.check
    element = ET.SubElement(
        suite,
        "testcase",
        {
            "classname": case.requirement,
            "name": check.check if check else "(no check selected)",
            "time": f"{check.duration_s:.3f}" if check else "0.000",
        },
    )
    requirement = catalogue[case.requirement]
    severity = requirement.severity
    text = "\n\n".join(_evidence(f) for f in case.failures[:MAX_FAILURES])
    if len(case.failures) > MAX_FAILURES:
        text += f"\n\n... and {len(case.failures) - MAX_FAILURES} more failures (see report.html)"
    if case.verdict in (Verdict.FAIL, Verdict.FLAKY):
        first = case.failures[0] if case.failures else None
        message = first.title if first else (check.reason if check else "failed")
        if len(case.failures) > 1:
            message += f" (+{len(case.failures) - 1} more)"
        kind = "flaky" if case.verdict is Verdict.FLAKY else severity
        if case.verdict is Verdict.FLAKY and check and check.reason:
            message = f"flaky: {check.reason}; {message}"
        failure = ET.SubElement(element, "failure", {"message": _clean(message), "type": kind})
        failure.text = _clean(text)
        text = ""  # already in the failure element
    elif case.verdict is Verdict.KNOWN_FAILURE:
        reason = check.reason if check else ""
        message = f"known failure: {reason}" if reason else "known failure"
        ET.SubElement(element, "skipped", {"message": _clean(message)})
    elif case.verdict is Verdict.INCONCLUSIVE:
        # case_verdict calls a case inconclusive only where the check recorded why.
        reason = check.inconclusive[case.requirement] if check else ""
        ET.SubElement(element, "skipped", {"message": _clean(f"inconclusive: {reason}")})
    elif case.verdict is Verdict.NOT_RUN:
        reason = (check.reason or "not selected") if check else "no selected check traces to this requirement"
        ET.SubElement(element, "skipped", {"message": _clean(f"not run: {reason}")})
    out = [part for part in (text, "\n".join(check.notes) if check else "") if part]
    if out:
        ET.SubElement(element, "system-out").text = _clean("\n\n".join(out))
    return element


def render_junit(run: RunResult, catalogue: Catalogue | None = None) -> str:
    catalogue = catalogue_or_default(catalogue)
    verdicts = run.requirements(dict(catalogue))
    all_cases = list(cases(run, verdicts))
    failures = sum(c.verdict in (Verdict.FAIL, Verdict.FLAKY) for c in all_cases)
    skipped = sum(
        c.verdict in (Verdict.NOT_RUN, Verdict.KNOWN_FAILURE, Verdict.INCONCLUSIVE) for c in all_cases
    )
    counts = {
        "tests": str(len(all_cases) + (0 if run.finished else 1)),
        "failures": str(failures),
        "errors": "0" if run.finished else "1",
        "skipped": str(skipped),
        "time": f"{run.duration_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": "oms-conformance", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": f"oms-conformance ({run.profile})", "timestamp": run.started_at, **counts},
    )
    properties = ET.SubElement(suite, "properties")
    fields = {
        "verdict": verdict_line(run, catalogue),
        "profile": run.profile,
        "seed": str(run.seed),
        "depth": run.depth,
        "tool_version": run.tool_version,
        "contract_version": run.contract_version,
        "base_url": str(run.target.get("base_url", "")),
        **({"tls": str(run.target["tls"])} if "tls" in run.target else {}),
        **{f"requirements.{key}": str(value) for key, value in run.totals(dict(catalogue)).items()},
    }
    for name, value in fields.items():
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    for case in all_cases:
        _case_element(suite, case, catalogue)
    if not run.finished:
        incomplete = ET.SubElement(
            suite, "testcase", {"classname": "run", "name": "run completed", "time": "0.000"}
        )
        ET.SubElement(
            incomplete, "error", {"message": _clean(run.incomplete_reason or "the run did not finish")}
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
