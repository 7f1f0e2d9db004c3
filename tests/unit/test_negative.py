"""The fuzz check's negative cases (machinery/negative.py via machinery/generation.py): every violation the
contract allows appears, with the contract's own limits; each case is drawn once; the seed alone decides;
the safety guard holds them; and a server that accepts any one violation is caught by the fuzz check."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from conformance.checks.fuzz import may_send
from conformance.checks.machinery import negative
from conformance.checks.machinery.generation import TOKEN, GeneratedCase, case_key, generate_plan
from conformance.errors import SpecError
from conformance.options import RunOptions
from conformance.results import Verdict
from conformance.runner.engine import execute
from conformance.spec import load_contract
from conformance.target import parse_target
from conformance.transport.safety import SafetyGuard
from tests.suite.model import Model, target_data

OWN = "proj-a-0001"
EXAMPLES = 25  # a quick run's count: five cases for each of the five violations


def draw(document: dict[str, Any], seed: int = 3, examples: int = EXAMPLES) -> list[GeneratedCase]:
    return generate_plan(document, "negative:0", seed=seed, examples=examples, own_project=OWN)


@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_every_parameter_is_made_invalid_every_way_the_contract_allows(profile: str) -> None:
    contract = load_contract(profile)
    required = bool(contract.parameter(TOKEN).get("required"))  # huawei: not with an AK/SK signature
    cases = draw(contract.document, examples=4 + required)  # as few as there are violations: one each
    assert {c.source for c in cases} == {"negative"}
    by_kind = {
        ("project_id", "too long"): [
            c for c in cases if len(c.project_id) > contract.max_length("project_id")
        ],
        ("group_id", "too long"): [c for c in cases if len(c.group_id) > contract.max_length("group_id")],
        (TOKEN, "too long"): [c for c in cases if c.token and len(c.token) > contract.max_length(TOKEN)],
        (TOKEN, "empty"): [
            c for c in cases if c.token is not None and len(c.token) < contract.min_length(TOKEN)
        ],
        (TOKEN, "missing"): [c for c in cases if c.varies_token and c.token is None],
    }
    expected = {**dict.fromkeys(by_kind, 1), (TOKEN, "missing"): int(required)}
    assert {kind: len(found) for kind, found in by_kind.items()} == expected
    for (parameter, _), found in by_kind.items():
        if not found:
            continue
        (case,) = found
        assert case.negated == parameter
        assert case.varies_token is (parameter == TOKEN)  # the credential goes with the path's violations
        # The other parameters are valid: only what the case is about is wrong.
        for name, value in (("project_id", case.project_id), ("group_id", case.group_id)):
            if name != parameter:
                assert contract.min_length(name) <= len(value) <= contract.max_length(name)


def test_a_limit_is_the_contracts_not_the_generators() -> None:
    document = load_contract("strict").document
    document["components"]["parameters"]["GroupId"]["schema"].update(minLength=4, maxLength=40)
    cases = [c for c in draw(document, examples=60) if c.negated == "group_id"]
    long, short = [c for c in cases if len(c.group_id) > 40], [c for c in cases if len(c.group_id) < 4]
    assert long and short and len(long) + len(short) == len(cases)
    assert all(len(c.group_id) >= 1 for c in short)  # never empty: an empty segment is another route
    assert min(len(c.group_id) for c in long) < 50  # just above the limit, where an off-by-one lives


def test_a_typed_parameter_is_sent_as_another_type_and_unknown_constraints_are_refused() -> None:
    document = load_contract("strict").document
    parameters = document["paths"]["/v2/{project_id}/taskgroups/{group_id}/stop"]["put"]["parameters"]
    parameters.append({"name": "X-Count", "in": "header", "required": False, "schema": {"type": "integer"}})
    cases = [c for c in draw(document, examples=30) if c.negated == "X-Count"]
    assert cases
    for case in cases:
        value = dict(case.extra_headers)["X-Count"]
        with pytest.raises(ValueError):
            float(value)
    parameters[-1]["schema"]["pattern"] = "^[0-9]+$"
    with pytest.raises(SpecError, match="pattern"):
        negative.parameters(document)


def test_each_case_is_drawn_once_and_the_seed_alone_decides() -> None:
    document = load_contract("strict").document
    first = draw(document, examples=200)
    assert len(first) == 200
    assert len({case_key(c) for c in first}) == 200  # a repeat is drawn again, never sent twice
    # Every value can be sent: UTF-8 in the path (st.characters() alone draws lone surrogates, six in the
    # 10,000 negative cases of seed 1 once, which stopped the run), visible ASCII in a header.
    for case in first:
        (case.project_id + case.group_id).encode("utf-8")
        for value in [case.token or "", *(v for _, v in case.extra_headers)]:
            assert value.isascii() and value.isprintable() and value == value.strip(), value
    assert draw(copy.deepcopy(document), examples=200) == first
    assert draw(document, seed=4, examples=200) != first
    assert sum(c.project_id == OWN for c in first if c.negated != "project_id") > 20  # reach the lookup


def test_no_negative_case_reaches_a_listed_or_real_looking_group() -> None:
    document = load_contract("strict").document
    cases = draw(document, examples=200)
    listed = {"157ece42-3270-4824-a3d2-f0187a03ca01", "0", "a"}  # ids Hypothesis could plausibly draw
    guard = SafetyGuard(listed, seed=1)
    sent = [c for c in cases if may_send(c, guard)]
    assert not [c for c in sent if c.project_id == OWN and c.group_id in listed]
    assert not [c for c in sent if not c.varies_token and c.group_id in listed]
    # Held to the guard whatever token it sends: a server that ignored a missing token finds nothing.
    unsafe = GeneratedCase("negative", "X-Auth-Token missing", OWN, next(iter(listed)), None, True, TOKEN, ())
    assert not may_send(unsafe, guard)
    assert not may_send(dataclasses.replace(unsafe, group_id="6f0bd0e2-8f5c-4e4e-9a52-3b0e9f1c2d3a"), guard)
    assert may_send(dataclasses.replace(unsafe, source="coverage"), guard)  # as before: its token is sent


@dataclasses.dataclass
class Accepts(Model):
    """The reference-like model, except that it answers 200 to one violation (named by its requirement)."""

    violation: str = ""

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        parts = scope["raw_path"].decode().split("/")
        token = dict(scope["headers"]).get(b"x-auth-token")
        if scope["method"] == "PUT" and len(parts) == 6 and self._accepts(parts, token):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await super().__call__(scope, receive, send)

    def _accepts(self, parts: list[str], token: bytes | None) -> bool:
        return {
            "STOP-PROJECT-LEN": len(unquote(parts[2])) > 1024,
            "STOP-GROUP-LEN": len(unquote(parts[4])) > 1024,
            "STOP-TOKEN-LEN": token is not None and len(token) > 16384,
            "STOP-TOKEN-REQUIRED": token is None,
        }[self.violation]


@pytest.mark.parametrize(
    "requirement", ["STOP-PROJECT-LEN", "STOP-GROUP-LEN", "STOP-TOKEN-LEN", "STOP-TOKEN-REQUIRED"]
)
def test_a_server_that_accepts_a_violation_fails_the_fuzz_check(requirement: str) -> None:
    target = parse_target(target_data("http://model.test"))
    options = RunOptions(
        seed=11,
        checks=["fuzz"],
        reruns=0,
        request_timeout=2.0,
        transport=httpx.ASGITransport(app=Accepts(violation=requirement)),
    )
    result = asyncio.run(execute(target, options))
    (fuzz,) = [c for c in result.checks if c.check == "fuzz"]
    assert fuzz.verdict is Verdict.FAIL
    failed = {f.requirement for f in fuzz.failures}
    assert requirement in failed, failed
    negative_failures = [f for f in fuzz.failures if "negative case" in f.title]
    assert negative_failures, [f.title for f in fuzz.failures]


@dataclasses.dataclass
class Recording(Model):
    """The reference-like model, noting every stop that carried the valid token: (project, group)."""

    stops_with_credential: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        parts = scope["raw_path"].decode().split("/")
        token = dict(scope["headers"]).get(b"x-auth-token", b"").decode("latin-1")
        if scope["method"] == "PUT" and len(parts) == 6 and token == self.token:
            self.stops_with_credential.append((unquote(parts[2]), unquote(parts[4])))
        await super().__call__(scope, receive, send)


def test_fuzz_sends_no_real_looking_group_with_the_credential_under_any_project() -> None:
    """The README's safety rule under every project id: a server that ignores the path's project would
    pause the page's example group (a UUID) under a generated project id as readily as under the own."""
    from conformance.transport.safety import _REAL_ID

    target = parse_target(target_data("http://model.test"))
    app = Recording()
    options = RunOptions(
        seed=1, checks=["fuzz"], reruns=0, request_timeout=2.0, transport=httpx.ASGITransport(app=app)
    )
    result = asyncio.run(execute(target, options))
    listed = target.listed_group_ids()
    unsafe = [(p, g) for p, g in app.stops_with_credential if _REAL_ID.match(g.strip()) and g not in listed]
    assert app.stops_with_credential, "the fuzz check sent no stop with the credential at all"
    assert {p for p, _ in app.stops_with_credential} != {OWN}  # generated project ids were sent too
    assert unsafe == [], unsafe
    assert result.skipped_for_safety > 0


def test_no_check_sends_an_id_of_a_dot_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 3986 section 6.2.2 removes `.` and `..` segments (`%2E` is `.`): a stack that normalises them is
    right (Go's ServeMux answers 301), so neither hostile-ids nor fuzz sends one; fuzz says so in a note."""
    import conformance.checks.machinery.corpus

    drawn = [
        GeneratedCase("positive", "a dot", OWN, "..", None, False, None, ()),
        GeneratedCase("positive", "a dot project", ".", "omsconf-x", None, False, None, ()),
        GeneratedCase("positive", "plain", OWN, "zz", None, False, None, ()),
    ]

    async def one_plan(*args: Any, **kwargs: Any) -> Any:
        yield drawn

    monkeypatch.setattr(conformance.checks.machinery.corpus, "corpus", one_plan)
    app = Recording()
    options = RunOptions(
        seed=1,
        checks=["fuzz", "hostile-ids"],
        depth="full",
        reruns=0,
        request_timeout=2.0,
        transport=httpx.ASGITransport(app=app),
    )
    result = asyncio.run(execute(parse_target(target_data("http://model.test")), options))
    sent = [(p, g) for p, g in app.stops_with_credential]
    assert ("proj-a-0001", "zz") in sent  # the plain case went out
    assert not [(p, g) for p, g in sent if p in (".", "..") or g in (".", "..")], sent
    (fuzz,) = [c for c in result.checks if c.check == "fuzz"]
    assert any("2 generated cases with an id of `.` or `..` were not sent" in n for n in fuzz.notes), (
        fuzz.notes
    )
