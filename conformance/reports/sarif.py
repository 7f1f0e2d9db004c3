"""``results.sarif``: failures as code-scanning alerts on the contract (SARIF 2.1.0).

GitHub code scanning (and other SARIF viewers) shows an alert at a line of a file. Our "source" is the
contract, so each rule is a requirement and each result points at the line of the OpenAPI document that
carries the requirement's ``x-requirements`` annotation: a reader lands on the element the finding is about.
Requirements of the huawei profile only are annotated in ``profiles/huawei.merge-patch.yaml``; a requirement
annotated nowhere points at the stop operation (``put:``) and says so in its properties.

One result per failure. Known failures carry an external suppression (GitHub lists them as dismissed);
flaky ones are results like failures, tagged ``flaky``.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from typing import Any, NamedTuple

from conformance.reports._common import Catalogue, catalogue_or_default, verdict_line
from conformance.reports.reproduce import run_id_of
from conformance.results import Failure, RunResult, Verdict
from conformance.spec import Profile, files

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# Where the documents sit in the repository; SARIF locations are relative to its root.
STRICT_URI = "openapi/" + files.STRICT_DOCUMENT
HUAWEI_URI = "openapi/" + files.profile_patch_name(Profile.HUAWEI)

_ANNOTATION = re.compile(r"^\s*x-requirements:\s*\[([^\]]*)\]")
_STOP_OPERATION = re.compile(r"^\s+put:\s*$")


class Location(NamedTuple):
    uri: str
    line: int
    annotated: bool  # False: the requirement is annotated nowhere, the location is the stop operation


def _annotations(text: str) -> dict[str, int]:
    """Requirement ID -> first line (1-based) whose ``x-requirements`` list names it."""
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ANNOTATION.match(line)
        if match:
            for rid in match.group(1).split(","):
                found.setdefault(rid.strip().strip("'\""), number)
    return found


@cache
def requirement_locations() -> dict[str, Location]:
    """Where each requirement is annotated: the strict document first (the huawei profile inherits it), then
    the huawei merge patch. Requirements annotated nowhere map to the stop operation under key ``""``."""
    strict = (files.contract_dir() / files.STRICT_DOCUMENT).read_text(encoding="utf-8")
    huawei = files.profile_patch(Profile.HUAWEI).read_text(encoding="utf-8")
    locations = {rid: Location(HUAWEI_URI, line, True) for rid, line in _annotations(huawei).items()}
    locations.update({rid: Location(STRICT_URI, line, True) for rid, line in _annotations(strict).items()})
    operation = next(
        (n for n, line in enumerate(strict.splitlines(), start=1) if _STOP_OPERATION.match(line)), 1
    )
    locations[""] = Location(STRICT_URI, operation, False)
    return locations


def _location(rid: str) -> Location:
    locations = requirement_locations()
    return locations.get(rid, locations[""])


def _rule(rid: str, catalogue: Catalogue) -> dict[str, Any]:
    req = catalogue[rid]
    where = _location(rid)
    return {
        "id": rid,
        "name": "".join(part.capitalize() for part in rid.split("-")),
        "shortDescription": {"text": req.title},
        "fullDescription": {"text": req.statement},
        "help": {
            "text": f'{req.statement}\n\nSource ({req.source_ref}): "{req.source_text}"',
            "markdown": f"{req.statement}\n\n**Source** ({req.source_ref}):\n\n> {req.source_text}",
        },
        "defaultConfiguration": {"level": req.severity},
        "properties": {
            "level": req.level,
            "profiles": list(req.profiles),
            "tags": ["conformance", req.level.lower()],
            "annotated": where.annotated,
        },
    }


def _message(failure: Failure) -> str:
    lines = [f"{failure.title} (check {failure.check})", failure.text()]
    lines += [exchange.describe() for exchange in failure.evidence]
    if failure.curl:
        lines.append(f"Reproduce: {failure.curl}")
    return "\n".join(lines)


def _result(
    failure: Failure, verdict: Verdict, reason: str, index: dict[str, int], catalogue: Catalogue
) -> Any:
    req = catalogue.get(failure.requirement)
    level = "error" if req is None else req.severity
    where = _location(failure.requirement)
    fingerprint = hashlib.sha256(
        "\x1f".join((failure.requirement, failure.check, failure.title, failure.text())).encode()
    ).hexdigest()[:32]
    result: dict[str, Any] = {
        "ruleId": failure.requirement,
        "level": level,
        "message": {"text": _message(failure)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": where.uri},
                    "region": {"startLine": where.line},
                }
            }
        ],
        "partialFingerprints": {"conformanceFailure/v1": fingerprint},
        "properties": {
            "check": failure.check,
            "verdict": verdict.value,
            "seed": failure.seed,
            "curl": failure.curl,
            "tags": ["flaky"] if verdict is Verdict.FLAKY else [],
        },
    }
    if failure.requirement in index:
        result["ruleIndex"] = index[failure.requirement]
    if verdict is Verdict.KNOWN_FAILURE:
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": reason}]
    return result


def render_sarif(run: RunResult, catalogue: Catalogue | None = None) -> str:
    catalogue = catalogue_or_default(catalogue)
    applicable = [rid for rid, req in catalogue.items() if req.applies_to(run.profile)]
    index = {rid: i for i, rid in enumerate(applicable)}
    results = [
        _result(failure, check.verdict, check.reason, index, catalogue)
        for check in run.checks
        if check.verdict in (Verdict.FAIL, Verdict.FLAKY, Verdict.KNOWN_FAILURE)
        for failure in check.failures
    ]
    uris = sorted({_location(rid).uri for rid in applicable} | {STRICT_URI})
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "oms-conformance",
                        "version": run.tool_version,
                        "semanticVersion": run.tool_version,
                        "rules": [_rule(rid, catalogue) for rid in applicable],
                    }
                },
                # "<category>/": code scanning keeps one set of alerts per category: one per target.
                "automationDetails": {"id": f"oms-conformance/{run_id_of(run)}/"},
                "artifacts": [{"location": {"uri": uri}} for uri in uris],
                "invocations": [
                    {
                        "executionSuccessful": run.finished,
                        **({"startTimeUtc": run.started_at} if run.started_at else {}),
                        **({"endTimeUtc": run.finished_at} if run.finished_at else {}),
                        **(
                            {
                                "toolConfigurationNotifications": [
                                    {"level": "warning", "message": {"text": str(run.target["tls"])}}
                                ]
                            }
                            if run.target.get("tls_verified") is False
                            else {}
                        ),
                        **(
                            {}
                            if run.finished
                            else {
                                "toolExecutionNotifications": [
                                    {
                                        "level": "error",
                                        "message": {"text": run.incomplete_reason or "incomplete"},
                                    }
                                ]
                            }
                        ),
                    }
                ],
                "results": results,
                "properties": {
                    "verdict": verdict_line(run, catalogue),
                    "profile": run.profile,
                    "seed": run.seed,
                    "depth": run.depth,
                    "contractVersion": run.contract_version,
                    **({"tls": run.target["tls"]} if "tls" in run.target else {}),
                    "totals": run.totals(dict(catalogue)),
                },
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
