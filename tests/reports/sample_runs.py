"""Hand-built RunResults that look like real nights: passes, failures with evidence, not run, a known failure,
a flaky result, a cluster of similar failures - for both profiles.

Evidence goes through the Redactor exactly as the runner stores it, so a test can put any token in and check
that it comes out of no report.
"""

from __future__ import annotations

import random
import shlex
from urllib.parse import quote

from conformance.redact import Redactor
from conformance.results import CheckResult, Exchange, Failure, RunResult, Verdict

DEFAULT_TOKEN = "MIIZkgYJKoZIhvcNAQcCoIIZgzCCGX8CAQExDTALBglghkgBZQMEAgEwghfk-sample-token"
PROJECT = "f4e146cac1de45669c3fed73dc3b9c6f"
GROUP = "157ece42-3270-4824-a3d2-f0187a03ca01"
BASE = "http://127.0.0.1:8765"


class _Builder:
    def __init__(self, token: str, seed: int) -> None:
        self.token = token
        self.seed = seed
        self.redact = Redactor([(token, "$OMS_TOKEN")])

    def exchange(
        self,
        url: str,
        status: int | None,
        body: str = "",
        *,
        method: str = "PUT",
        token: str | None = None,
        elapsed_ms: float = 12.5,
        error: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        """Like the runner: raw request -> redacted evidence with a curl line built from redacted headers."""
        raw = {"X-Auth-Token": self.token if token is None else token, **(headers or {})}
        redacted = self.redact.headers(raw.items())
        curl = ["curl", "-sS", "-X", method, "--path-as-is"]
        for name, value in redacted.items():
            if value.startswith("$OMS_"):
                curl += ["-H", f'"{name}: {value}"']
            else:
                curl += ["-H", shlex.quote(f"{name}: {value}")]
        curl.append(shlex.quote(self.redact.text(BASE + url)))
        response_headers = {"Content-Type": "application/json"} if status is not None else {}
        return Exchange(
            method=method,
            url=self.redact.text(BASE + url),
            request_headers=redacted,
            status=status,
            response_headers=self.redact.headers(response_headers.items()),
            response_body=self.redact.text(body),
            elapsed_ms=elapsed_ms,
            error=self.redact.text(error) if error else None,
            curl=" ".join(curl),
        )

    def failure(self, requirement: str, check: str, title: str, message: str, *evidence: Exchange) -> Failure:
        """``message``: the sample's "Received: ...", "Expected: ...", "Why: ..." lines, as its fields."""
        severity = "warning" if requirement in ("STOP-METHOD-ALLOW", "STOP-TIMELY") else "error"
        fields: dict[str, str] = {}
        more = []
        for line in message.split("\n"):
            label, _, value = line.partition(": ")
            if label in ("Received", "Expected", "Documented", "Why") and label not in fields:
                fields[label] = value
            else:
                more.append(line)
        expected_as = "Documented" if "Documented" in fields else "Expected"
        return Failure(
            requirement,
            check,
            title,
            severity,
            received=fields.get("Received", ""),
            expected=fields.get(expected_as, ""),
            expected_as=expected_as,
            why=fields.get("Why", ""),
            more="\n".join(more),
            evidence=list(evidence),
            seed=self.seed,
        )


def _path(project: str = PROJECT, group: str = GROUP) -> str:
    return f"/v2/{quote(project, safe='')}/taskgroups/{quote(group, safe='')}/stop"


def sample_run(profile: str = "strict", *, token: str = DEFAULT_TOKEN, seed: int = 20261103) -> RunResult:
    b = _Builder(token, seed)
    envelope = '{"error_code": "OMS.0064", "error_msg": "Invalid request parameters."}'
    checks = [
        CheckResult(
            "authn-refused",
            ("STOP-AUTHN", "STOP-TOKEN-REQUIRED", "STOP-TOKEN-LEN"),
            "Requests without a valid credential are refused.",
            Verdict.FAIL,
            failures=[
                b.failure(
                    "STOP-AUTHN",
                    "authn-refused",
                    "Invalid token accepted",
                    "Received: 200\nExpected: 403 or 400 (the token is not valid)",
                    b.exchange(_path(), 200, token="not-a-valid-token"),
                ),
                b.failure(
                    "STOP-TOKEN-REQUIRED",
                    "authn-refused",
                    "Missing X-Auth-Token accepted",
                    "Received: 200\nExpected: 400 or 403 (no X-Auth-Token header)",
                    b.exchange(_path(), 200, token=""),
                ),
            ],
            requests=6,
            duration_s=0.41,
        ),
        CheckResult(
            "authn-no-pause",
            ("STOP-AUTHN", "STOP-TOKEN-REQUIRED", "STOP-TOKEN-LEN"),
            "A refused request leaves the group's status unchanged.",
            Verdict.PASS,
            requests=9,
            duration_s=0.52,
        ),
        CheckResult(
            "authz-other-project",
            ("STOP-AUTHZ",),
            "Another project's credential is refused.",
            Verdict.NOT_RUN,
            reason="no other_project in the target: cross-project checks need a second credential",
        ),
        CheckResult(
            "header-case",
            ("STOP-HEADER-CASE",),
            "Header names are case-insensitive.",
            Verdict.PASS,
            requests=3,
        ),
        CheckResult("group-id-length", ("STOP-GROUP-LEN",), "group_id boundaries.", Verdict.PASS, requests=6),
        CheckResult(
            "project-id-length", ("STOP-PROJECT-LEN",), "project_id boundaries.", Verdict.PASS, requests=6
        ),
        CheckResult(
            "token-length",
            ("STOP-TOKEN-LEN", "STOP-TOKEN-REQUIRED"),
            "Token length boundaries reach the application.",
            Verdict.FAIL,
            failures=[
                b.failure(
                    "STOP-TOKEN-LEN",
                    "token-length",
                    "Legal 16384-character token cut off by the infrastructure",
                    "Received: 431 (text/html from the proxy)\nExpected: an answer of the application",
                    b.exchange(
                        _path(),
                        431,
                        "<html><body><h1>431 Request Header Fields Too Large</h1></body></html>",
                        token="<16384 x '0'>",
                    ),
                )
            ],
            requests=4,
            duration_s=0.2,
        ),
        CheckResult(
            "other-methods",
            ("STOP-METHODS", "STOP-METHOD-ALLOW"),
            "Other methods never pause.",
            Verdict.KNOWN_FAILURE,
            reason="baseline: STOP-METHOD-ALLOW: gateway strips Allow; ticket OMS-123 (until 2026-12-31)",
            failures=[
                b.failure(
                    "STOP-METHOD-ALLOW",
                    "other-methods",
                    "405 without Allow",
                    "Received: 405 without an Allow header\nExpected: Allow: PUT",
                    b.exchange(_path(), 405, envelope, method=m),
                )
                for m in ("GET", "POST", "DELETE")
            ],
            requests=5,
            duration_s=0.3,
        ),
        CheckResult(
            "documented-status",
            ("STOP-DOCUMENTED-STATUS",),
            "Only documented status codes.",
            Verdict.FAIL,
            failures=[
                b.failure(
                    "STOP-DOCUMENTED-STATUS",
                    "documented-status",
                    "Undocumented status",
                    "Received: 404\nDocumented: 200, 400, 403",
                    b.exchange(
                        _path(group=f"unknown-{n}"), 404, '{"error_code": "OMS.0404"}', elapsed_ms=8.0 + n
                    ),
                )
                for n in range(5)
            ]
            + [
                b.failure(
                    "STOP-DOCUMENTED-STATUS",
                    "documented-status",
                    "Undocumented status",
                    "Received: 500\nDocumented: 200, 400, 403",
                    b.exchange(_path(group="a%2Fb"), 500, "Internal Server Error"),
                )
            ],
            requests=240,
            duration_s=0.0,
        ),
        CheckResult("error-envelope", ("STOP-ERROR-ENVELOPE",), "400/403 carry the envelope.", Verdict.PASS),
        CheckResult("success-body", ("STOP-SUCCESS-200",), "A 200 has no error body.", Verdict.PASS),
        CheckResult(
            "no-server-error",
            ("STOP-ROBUST",),
            "Never 5xx.",
            Verdict.FAIL,
            failures=[
                b.failure(
                    "STOP-ROBUST",
                    "no-server-error",
                    "Server error on a legal id",
                    "Received: 500\nExpected: a documented status (200, 400, 403)",
                    b.exchange(
                        _path(group="a%2Fb"),
                        500,
                        'Traceback (most recent call last):\n  File "app.py", line 3\n'
                        "<script>alert(1)</script>",
                    ),
                )
            ],
        ),
        CheckResult(
            "no-credential-echo",
            ("STOP-NO-ECHO",),
            "Responses never echo the credential.",
            Verdict.FAIL,
            failures=[
                b.failure(
                    "STOP-NO-ECHO",
                    "no-credential-echo",
                    "Token echoed in the error message",
                    "Received: the request's X-Auth-Token in the body\n"
                    "Expected: no credential in any response",
                    b.exchange(
                        _path(group=token),  # the hostile-ids check also sends the token as an id
                        400,
                        f'{{"error_code": "OMS.0064", "error_msg": "token {token} is not allowed here"}}',
                    ),
                )
            ],
        ),
        CheckResult(
            "timely",
            ("STOP-TIMELY",),
            "Answers arrive in time.",
            Verdict.FLAKY,
            reason="failed once (no answer within 10 s), passed on 2 re-runs",
            failures=[
                b.failure(
                    "STOP-TIMELY",
                    "timely",
                    "No answer within the request timeout",
                    "Received: no response within 10.0 s\nExpected: an answer",
                    b.exchange(_path(), None, error="timeout after 10.0 s", elapsed_ms=10000.0),
                )
            ],
        ),
        CheckResult(
            "hostile-ids", ("STOP-ROBUST",), "Hostile ids.", Verdict.PASS, requests=40, duration_s=0.9
        ),
        CheckResult(
            "precondition",
            ("STOP-PRECONDITION", "STOP-SUCCESS-200"),
            "Only 1/2 pause.",
            Verdict.PASS,
            requests=10,
        ),
        CheckResult("effect", ("STOP-EFFECT",), "After 200 the group is paused.", Verdict.PASS, requests=4),
        CheckResult(
            "concurrency",
            ("STOP-CONCURRENCY",),
            "One of N concurrent stops wins.",
            Verdict.PASS,
            requests=8,
            notes=["The page does not say what the losers get; 400 is assumed (STOP-PRECONDITION)."],
        ),
    ]
    if profile == "huawei":
        checks += [
            CheckResult(
                "request-id",
                ("HW-REQUEST-ID",),
                "Every response carries X-Request-Id.",
                Verdict.FAIL,
                failures=[
                    b.failure(
                        "HW-REQUEST-ID",
                        "request-id",
                        "X-Request-Id missing",
                        "Received: no X-Request-Id header\nExpected: a non-empty X-Request-Id",
                        b.exchange(_path(), 400, envelope),
                    )
                ],
            ),
            CheckResult("gateway-401", ("HW-GATEWAY-401",), "401 is APIGW.0301.", Verdict.PASS),
            CheckResult(
                "aksk-signature",
                ("HW-AKSK", "STOP-AUTHN"),
                "AK/SK-signed requests are honoured.",
                Verdict.NOT_RUN,
                reason="the target gives no AK/SK pair",
            ),
        ]
    rng = random.Random(seed)
    latencies = [round(rng.lognormvariate(3.0, 0.8), 2) for _ in range(340)] + [10000.0]
    return RunResult(
        tool_version="0.1.0",
        contract_version="v2",
        profile=profile,
        target={
            "base_url": BASE,
            "project_id": PROJECT,
            "profile": profile,
            "credentials": ["token"],
            "groups": {"creating": 2, "monitoring": 1, "completed": 1},
            "other_project": False,
        },
        seed=seed,
        depth="standard",
        started_at="2026-11-03T02:00:00Z",
        finished_at="2026-11-03T02:00:41Z",
        duration_s=41.2,
        checks=checks,
        status_counts={"200": 31, "400": 212, "403": 57, "404": 5, "405": 3, "431": 1, "500": 2, "error": 1},
        latencies_ms=latencies,
        skipped_for_safety=2,
    )


def passing_run(profile: str = "strict") -> RunResult:
    """Every check passes and every requirement is verified: the conforming case."""
    run = sample_run(profile)
    for check in run.checks:
        check.verdict, check.failures, check.reason = Verdict.PASS, [], ""
    run.checks += [
        CheckResult("operation", ("STOP-OPERATION",), "PUT reaches the operation.", Verdict.PASS, requests=1),
        CheckResult("permission", ("STOP-PERMISSION",), "A read-only token is forbidden.", Verdict.PASS),
        CheckResult("joined-paths", ("STOP-PATH-EXACT",), "Joined paths pause nothing.", Verdict.PASS),
    ]
    if profile == "huawei":
        run.checks.append(CheckResult("show-status", ("HW-SHOW-STATUS",), "Show works.", Verdict.PASS))
        run.checks.append(CheckResult("stateful", ("HW-START",), "Stop, show, start agree.", Verdict.PASS))
        run.checks.append(
            CheckResult(
                "refusal-unchanged", ("STOP-REFUSAL-UNCHANGED",), "Refusals change nothing.", Verdict.PASS
            )
        )
    return run


def _word(n: int) -> str:
    """A distinct word per number, without digits: rollups treat digits as what varies between inputs."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[n % 26] + letters[n // 26 % 26] + letters[n // 676 % 26]


def noisy_run(
    profile: str = "huawei", *, causes: int = 30, repeats: int = 12, token: str = DEFAULT_TOKEN
) -> RunResult:
    """A night where everything breaks: every applicable requirement fails for ``causes`` distinct reasons,
    each seen ``repeats`` times on other ids, with a 1,025-character request line, a 16 KiB header value in
    the curl line and long bodies - hundreds of failures, to hold the reports to their size and layout."""
    from conformance.spec import load_requirements

    b = _Builder(token, seed=7)
    long_header = {"X-Trace": "t" * 64 + "".join(_word(i) for i in range(5500))}  # 16,564 characters
    checks = []
    for rid, req in load_requirements().items():
        if not req.applies_to(profile):
            continue
        failures = [
            b.failure(
                rid,
                f"check-{rid.lower()}",
                f"Wrong answer of kind {_word(cause)}",
                f"Received: 500 for input {n}\nExpected: a documented status\n" + "detail " * 300,
                b.exchange(
                    _path(group=("g" * 1025) if n == 0 else f"id-{n}"),
                    500,
                    '{"error_code": "APIGW.0601", "error_msg": "' + "x" * 3000 + '"}',
                    headers=long_header if n == 0 else None,
                ),
            )
            for cause in range(causes)
            for n in range(repeats)
        ]
        checks.append(
            CheckResult(f"check-{rid.lower()}", (rid,), f"Checks {rid}.", Verdict.FAIL, failures=failures)
        )
    run = sample_run(profile, token=token)
    run.checks = checks
    return run
