"""The five report formats: valid, deterministic, and agreeing on the numbers."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema  # type: ignore[import-untyped]
import pytest

from conformance.errors import ConfigError, UsageError
from conformance.reports import (
    ALL_FORMATS,
    SecretInReport,
    load_run,
    parse_formats,
    render,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    render_sarif,
    write_reports,
)
from conformance.reports._common import VERDICT_LABELS, latency_summary, percentile
from conformance.reports.sarif import requirement_locations
from conformance.results import RunResult, StopReason, Verdict
from conformance.spec import Requirement, files
from tests.reports.sample_runs import PROJECT, passing_run, sample_run

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "conformance" / "reports" / "conformance.schema.json").read_text(
        encoding="utf-8"
    )
)
FILES = {"json": "conformance.json", "junit": "junit.xml", "md": "summary.md", "html": "report.html",
         "sarif": "results.sarif"}  # fmt: skip


def _verdict_set(run: RunResult, catalogue: dict[str, Requirement], *verdicts: Verdict) -> set[str]:
    return {rv.requirement.id for rv in run.requirements(catalogue) if rv.verdict in verdicts}


# --- conformance.json ------------------------------------------------------------------------------------


def test_json_validates_against_the_shipped_schema(run: RunResult) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(render_json(run)))


def test_json_of_an_empty_incomplete_run_validates() -> None:
    run = RunResult(
        "0.1.0",
        "v2",
        "strict",
        {},
        1,
        "quick",
        "",
        stop_reason=StopReason.INTERRUPTED,
        incomplete_reason="SIGINT",
    )
    data = json.loads(render_json(run))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["verdict"] == "INCOMPLETE" and data["latency"]["count"] == 0
    assert "no requests recorded" in render_html(run)  # every format copes with a run that sent nothing
    assert all(render(run, fmt) for fmt in ALL_FORMATS)


def test_load_run_round_trips(run: RunResult, tmp_path: Path) -> None:
    (path,) = write_reports(run, tmp_path / "new" / "dir", ["json"])
    again = load_run(path)
    assert again == run
    assert render_json(again) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"schema_version": 2}', "schema_version 2 is not supported"),
        ('{"schema_version": 1}', "missing key 'timing'"),
        (b"\xff\xfe", "not UTF-8 text"),
    ],
)
def test_load_run_refuses_bad_files_with_one_line(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    path = tmp_path / "run.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError, match=re.escape(expected)) as info:
        load_run(path)
    assert "\n" not in info.value.message and str(path) in info.value.message


def test_load_run_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_run(tmp_path / "absent.json")


# --- the numbers agree -----------------------------------------------------------------------------------


def _junit_totals(text: str) -> dict[str, int]:
    root = ET.fromstring(text)
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    return {
        k.removeprefix("requirements."): int(v or 0) for k, v in props.items() if k and k.startswith("req")
    }


def _markdown_totals(text: str) -> dict[str, int]:
    labels = {label: v.value for v, label in VERDICT_LABELS.items()}
    found = {}
    for label, count in re.findall(r"^\| \S+ ([a-z ]+) \| (\d+) \|$", text, re.MULTILINE):
        found[labels[label]] = int(count)
    return found


class _HtmlTotals(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, int] = {}
        self.rows: Counter[str] = Counter()
        self._card: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-total"):
            self._card = a["data-total"]
        if tag == "tr" and (a.get("id") or "").startswith("req-"):
            self.rows[a["data-verdict"] or ""] += 1

    def handle_data(self, data: str) -> None:
        if self._card and data.strip():
            self.cards[self._card] = int(data)
            self._card = None


def test_totals_agree_across_all_formats(run: RunResult, catalogue: dict[str, Requirement]) -> None:
    expected = run.totals(catalogue)
    assert sum(expected.values()) == len([r for r in catalogue.values() if r.applies_to(run.profile)])
    assert all(expected[v] for v in ("pass", "fail", "not_run", "known_failure", "flaky")), (
        "sample covers all"
    )

    data = json.loads(render_json(run))
    assert data["totals"] == expected
    assert dict(Counter(r["verdict"] for r in data["requirements"])) == {
        k: v for k, v in expected.items() if v
    }

    assert _junit_totals(render_junit(run)) == expected
    assert _markdown_totals(render_markdown(run)) == expected

    page = _HtmlTotals()
    page.feed(render_html(run))
    assert page.cards == expected
    assert dict(page.rows) == {k: v for k, v in expected.items() if v}

    assert json.loads(render_sarif(run))["runs"][0]["properties"]["totals"] == expected


def test_failing_requirements_agree_across_formats(run: RunResult, catalogue: dict[str, Requirement]) -> None:
    failing = _verdict_set(run, catalogue, Verdict.FAIL, Verdict.FLAKY)

    root = ET.fromstring(render_junit(run))
    assert {c.get("classname") for c in root.iter("testcase") if c.find("failure") is not None} == failing

    sarif = json.loads(render_sarif(run))["runs"][0]
    open_alerts = {r["ruleId"] for r in sarif["results"] if "suppressions" not in r}
    suppressed = {r["ruleId"] for r in sarif["results"] if "suppressions" in r}
    assert open_alerts == failing
    assert suppressed and suppressed <= _verdict_set(run, catalogue, Verdict.KNOWN_FAILURE)
    assert len(sarif["results"]) == sum(
        len(c.failures)
        for c in run.checks
        if c.verdict in (Verdict.FAIL, Verdict.FLAKY, Verdict.KNOWN_FAILURE)
    )

    markdown = render_markdown(run)
    headed = set(re.findall(r"^#### \S+ ([A-Z0-9-]+) \(", markdown, re.MULTILINE))
    assert headed == failing


def test_conforming_run_says_so_everywhere(catalogue: dict[str, Requirement]) -> None:
    run = passing_run("huawei")
    assert run.conforms(catalogue)
    assert json.loads(render_json(run))["verdict"] == "CONFORMS"
    assert "CONFORMS" in render_markdown(run).splitlines()[0]
    assert 'id="verdict">CONFORMS<' in render_html(run)
    assert ET.fromstring(render_junit(run)).get("failures") == "0"
    assert json.loads(render_sarif(run))["runs"][0]["results"] == []


def test_incomplete_run_is_an_error_in_junit_and_a_warning_elsewhere() -> None:
    run = sample_run("strict")
    run.stop_reason, run.incomplete_reason = StopReason.INTERRUPTED, "interrupted by SIGTERM"
    root = ET.fromstring(render_junit(run))
    assert root.get("errors") == "1" and int(root.get("tests") or 0) == len(list(root.iter("testcase")))
    assert "interrupted by SIGTERM" in render_markdown(run)
    assert "INCOMPLETE" in render_html(run) and "interrupted by SIGTERM" in render_html(run)
    invocation = json.loads(render_sarif(run))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False


# --- determinism -----------------------------------------------------------------------------------------


def test_same_run_gives_byte_identical_files(tmp_path: Path) -> None:
    first = write_reports(sample_run("huawei"), tmp_path / "a")
    second = write_reports(sample_run("huawei"), tmp_path / "b")
    assert [p.name for p in first] == list(FILES.values())
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


# --- per format ------------------------------------------------------------------------------------------


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "srcset", "poster", "data")]


def test_html_is_self_contained_and_escaped(run: RunResult) -> None:
    html = render_html(run)
    page = _Resources()
    page.feed(html)
    assert page.urls and all(u.startswith("#") for u in page.urls), page.urls
    assert not page.tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert not re.search(r"url\(|@import", html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # a hostile response body stays text
    assert "<svg" in html and html.count("<svg") == 2


def test_junit_cases_are_check_by_requirement(run: RunResult, catalogue: dict[str, Requirement]) -> None:
    root = ET.fromstring(render_junit(run))
    cases = list(root.iter("testcase"))
    pairs = {(c.get("classname"), c.get("name")) for c in cases}
    for check in run.checks:
        for rid in check.requirements:
            if catalogue[rid].applies_to(run.profile):
                assert (rid, check.check) in pairs
    assert ("STOP-OPERATION", "(no check selected)") in pairs
    known = [
        c for c in cases if c.get("name") == "other-methods" and c.get("classname") == "STOP-METHOD-ALLOW"
    ]
    skipped = known[0].find("skipped")
    assert skipped is not None and (skipped.get("message") or "").startswith("known failure: baseline")
    assert "405 without Allow" in (known[0].findtext("system-out") or "")
    flaky = [c.find("failure") for c in cases if c.get("name") == "timely"]
    assert flaky[0] is not None and flaky[0].get("type") == "flaky"
    assert int(root.get("tests") or 0) == len(cases)
    assert int(root.get("failures") or 0) == sum(c.find("failure") is not None for c in cases)
    assert int(root.get("skipped") or 0) == sum(c.find("skipped") is not None for c in cases)


def test_sarif_structure_and_lines(run: RunResult, catalogue: dict[str, Requirement]) -> None:
    doc = json.loads(render_sarif(run))
    assert doc["version"] == "2.1.0" and "sarif-2.1.0" in doc["$schema"]
    (sarif_run,) = doc["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "oms-conformance" and driver["version"] == run.tool_version
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [r.id for r in catalogue.values() if r.applies_to(run.profile)]
    for rule in rules:
        req = catalogue[rule["id"]]
        assert rule["shortDescription"]["text"] == req.title
        assert rule["fullDescription"]["text"] == req.statement
        assert req.source_text in rule["help"]["text"]
        assert rule["properties"]["level"] == req.level
    lines = {}
    for result in sarif_run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        req = catalogue[result["ruleId"]]
        assert result["level"] == ("error" if req.level == "MUST" else "warning")
        assert result["message"]["text"]
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        line = location["physicalLocation"]["region"]["startLine"]
        assert not re.match(r"^[a-z]+:|/", uri) and uri.startswith("openapi/")
        text = (files.contract_dir() / uri.removeprefix("openapi/")).read_text(encoding="utf-8").splitlines()
        lines[result["ruleId"]] = (uri, text[line - 1])
    annotated = {rid for rid, loc in requirement_locations().items() if rid and loc.annotated}
    for rid, (_uri, line) in lines.items():
        if rid in annotated:
            assert "x-requirements" in line and rid in line, (rid, line)
        else:
            assert line.strip() == "put:", (rid, line)
    assert "STOP-TOKEN-LEN" in lines and "STOP-DOCUMENTED-STATUS" in lines  # annotated and not
    if run.profile == "huawei":
        assert lines["HW-REQUEST-ID"][0] == "openapi/profiles/huawei.merge-patch.yaml"


def test_every_annotated_requirement_is_located(catalogue: dict[str, Requirement]) -> None:
    locations = requirement_locations()
    for rid in ("STOP-OPERATION", "STOP-TOKEN-LEN", "STOP-ERROR-ENVELOPE"):
        assert locations[rid].uri == "openapi/stop-task-group.yaml"
    for rid in (r.id for r in catalogue.values() if r.profiles == ("huawei",)):
        assert locations[rid].uri == "openapi/profiles/huawei.merge-patch.yaml"


def test_markdown_reproduces_with_the_seed(run: RunResult) -> None:
    text = render_markdown(run)
    assert (
        f"oms-conformance run --target target.yaml --profile {run.profile} --depth standard --seed " in text
    )
    assert "```sh\ncurl -sS -X PUT" in text
    assert text.splitlines()[0].startswith("## ❌ OMS conformance: DOES NOT CONFORM")
    assert (
        text.index("### Failing requirements") < text.index("### Known failures") < text.index("### Not run")
    )
    assert len(text) < 65536


def test_latency_summary_uses_observed_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile([], 90) == 0.0
    run = sample_run()
    summary = latency_summary(run)
    assert summary["count"] == len(run.latencies_ms) and summary["max_ms"] == 10000.0
    histogram = summary["histogram"]
    assert isinstance(histogram, list) and sum(int(b["count"]) for b in histogram) == len(run.latencies_ms)


# --- writing and the secret guard ------------------------------------------------------------------------


def test_formats_are_parsed_and_checked() -> None:
    assert parse_formats("html, md,html") == ["html", "md"]
    assert parse_formats(ALL_FORMATS) == list(FILES)
    with pytest.raises(
        UsageError, match="unknown report format 'pdf'; choose from json, junit, md, html, sarif"
    ):
        parse_formats("html,pdf")


def test_a_secret_in_any_report_stops_all_writing(tmp_path: Path) -> None:
    with pytest.raises(SecretInReport) as info:
        write_reports(sample_run(), tmp_path / "out", secrets=["short", PROJECT])
    assert PROJECT not in info.value.message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_the_guard_sees_escaped_forms(fmt: str) -> None:
    secret = 'tok<&"en\\/x'
    run = sample_run()
    run.checks[0].failures[0].received = secret  # as if redaction had missed it
    with pytest.raises(SecretInReport, match=f"the {fmt} report would contain a secret"):
        render(run, fmt, secrets=[secret])
    assert render(sample_run(), fmt, secrets=["abc", secret])  # short secrets are ignored; absent ones pass
