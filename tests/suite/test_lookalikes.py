"""The look-alike probes (checks/machinery/lookalikes.py): the generators' own invariants - deterministic,
never a correct equivalence, never another real group - and, for every probe class, a faulty server that
only the look-alike checks catch while the rest of the suite passes it.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.machinery.lookalikes import (
    NOT_A_TOKEN,
    id_lookalikes,
    lenient,
    neighbour_forms,
    safe_id_probes,
    safe_project_probes,
    same_segment,
    token_lookalikes,
    uuid_shaped,
)
from conformance.redact import Redactor
from conformance.reports.json_report import render_json
from conformance.results import Verdict
from conformance.spec.paths import encode_segment

from .model import OTHER_TOKEN, READONLY, TOKEN, variant
from .test_catalogue import run_suite

ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40)
uuids = st.uuids().map(str)
tokens = st.text(string.ascii_letters + string.digits + "-_.~+/=", min_size=4, max_size=80)


# -- ids ---------------------------------------------------------------------------------------------------


@given(group_id=ids | uuids)
def test_id_probes_are_deterministic_distinct_and_new(group_id: str) -> None:
    probes = id_lookalikes(group_id)
    assert probes == id_lookalikes(group_id)
    values = [p.value for p in probes]
    assert len(values) == len(set(values))
    assert group_id not in values
    assert not neighbour_forms(group_id) & set(values)  # state.neighbour_ids sends those already


@given(group_id=ids | uuids)
def test_no_probe_is_the_same_segment_on_the_wire(group_id: str) -> None:
    """RFC 3986 section 6.2.2: a percent-encoded unreserved character, or an escape in other hex case, names
    the same segment; a stop through such a form may legitimately pause the group, so none is a probe."""
    wire = encode_segment(group_id)
    for probe in safe_id_probes(group_id, {group_id}):
        assert not same_segment(encode_segment(probe.value), wire), probe


def test_the_segment_comparison_knows_the_correct_equivalences() -> None:
    """Without this, the test above could pass by a comparison that never says "same"."""
    assert same_segment("%61%62c", "abc")
    assert same_segment("a%7Eb", "a~b")
    assert same_segment("a%2fb", "a%2Fb")
    assert same_segment("%c3%a9", "%C3%A9")
    assert not same_segment("a%2Fb", "a/b")  # "/" is reserved: encoded, it is data
    assert not same_segment("abc%20", "abc")


@given(group_id=uuids, upper=st.booleans())
def test_probes_of_uuids_are_never_uuid_shaped_unless_they_fold_back_to_the_listed_id(
    group_id: str, upper: bool
) -> None:
    group_id = group_id.upper() if upper else group_id
    for probe in safe_id_probes(group_id, {group_id}):
        if uuid_shaped(probe.value):
            assert lenient(probe.value) == lenient(group_id), probe


def test_the_uuid_shaped_probes_that_are_sent_fold_back_to_the_listed_id() -> None:
    group_id = "7a2ec4f9-0d1b-4c55-9e7a-3f6b8d2c1e00"
    shaped = [p for p in safe_id_probes(group_id, {group_id}) if uuid_shaped(p.value)]
    assert {p.how for p in shaped} >= {"upper-cased", "a space in front", "a tab at the end"}
    assert all(lenient(p.value) == group_id for p in shaped)


def test_a_probe_that_could_be_another_real_group_is_not_sent() -> None:
    """A listed id one character off a UUID: its "first character removed" look-alike is a UUID that is
    not the listed id under any normalisation, so it could name a real group - the filter drops it."""
    real = str(uuid.UUID(int=0x1234))
    group_id = "x" + real
    assert real in {p.value for p in id_lookalikes(group_id)}
    sent = {p.value for p in safe_id_probes(group_id, {group_id})}
    assert real not in sent
    assert not [v for v in sent if uuid_shaped(v) and lenient(v) != lenient(group_id)]


def test_a_probe_that_is_another_listed_id_is_not_sent() -> None:
    listed = {"creating-0", "creating", "0", "CREATING-0"}
    sent = {p.value for p in safe_id_probes("creating-0", listed)}
    assert not sent & listed
    assert {"reating-0", " creating-0", "creating-0\x00"} <= sent


@given(group_id=ids)
def test_compatibility_forms_differ_but_normalise_alike(group_id: str) -> None:
    for probe in id_lookalikes(group_id):
        if probe.kind == "compatibility":
            assert probe.value != group_id
            nfkc = unicodedata.normalize("NFKC", group_id)
            assert unicodedata.normalize("NFKC", probe.value) == nfkc


def test_every_id_probe_class_is_generated_for_a_uuid_with_letters() -> None:
    probes = id_lookalikes("9f8e7d6c-5b4a-4321-8fed-cba987654321")
    assert {p.kind for p in probes} == {"affix", "whitespace", "case", "compatibility", "terminator"}
    ligature = [p.value for p in id_lookalikes("9f8e7d6c-5b4a-4321-8ffd-cba987654321") if "ligature" in p.how]
    assert ligature == ["9f8e7d6c-5b4a-4321-8\ufb00d-cba987654321"]


# -- tokens ------------------------------------------------------------------------------------------------


@given(token=tokens, readonly=st.none() | tokens, other=st.none() | tokens)
def test_no_token_probe_is_the_token_itself_once_http_has_read_it(
    token: str, readonly: str | None, other: str | None
) -> None:
    probes = token_lookalikes(token, readonly, other)
    assert probes == token_lookalikes(token, readonly, other)
    for probe in probes:
        values = [value for _, value in probe.headers]
        # HTTP strips spaces and tabs around a field value (RFC 9110 section 5.5): " token" alone is the
        # token. Beside another value (two lines, a list) it is no credential the page defines: a probe.
        assert len(values) > 1 or values[0].strip(" \t") != token, probe
        assert all(value.strip(" \t") for value in values), probe
        # Of several lines a server may read one (the first or the last): none may be the token itself.
        assert len(values) == 1 or token not in [value.strip(" \t") for value in values], probe


def test_token_probes_cover_every_class_and_keep_whitespace_where_http_does() -> None:
    probes = token_lookalikes(TOKEN, READONLY, OTHER_TOKEN)
    assert {p.kind for p in probes} == {"case", "prefix", "extension", "whitespace", "confusion", "folding"}
    whitespace = [p.headers[0][1] for p in probes if p.kind == "whitespace"]
    assert all(value[0] == "\xa0" or value[-1] == "\xa0" for value in whitespace)
    assert ("X-Auth-Token", TOKEN[:-8]) in [p.headers[0] for p in probes]
    two_lines = {tuple(v for _, v in p.headers) for p in probes if len(p.headers) == 2}
    assert two_lines == {(READONLY, OTHER_TOKEN), (OTHER_TOKEN, READONLY)}
    lists = [p.headers[0][1] for p in probes if p.kind == "folding" and len(p.headers) == 1]
    assert f"{TOKEN}, {NOT_A_TOKEN}" in lists and f"{READONLY},{TOKEN}" in lists


def test_without_other_tokens_only_the_valid_one_is_varied() -> None:
    probes = token_lookalikes("0123456789-0123456789")  # no letters: no case probes either
    assert {p.kind for p in probes} == {"prefix", "extension", "whitespace", "folding"}


@given(project_id=st.from_regex(r"\A[0-9a-f]{32}\Z"), other=st.from_regex(r"\A[0-9a-f]{32}\Z"))
def test_no_project_probe_can_name_another_real_project(project_id: str, other: str) -> None:
    probes = safe_project_probes(project_id, {project_id, other})
    assert probes, "a real-shaped project id still gets probes (case, affixes, Unicode forms)"
    for probe in probes:
        assert probe.value not in (project_id, other)
        real_shaped = bool(re.fullmatch(r"[0-9a-fA-F]{32}", probe.value.strip()))
        assert not real_shaped or lenient(probe.value) == lenient(project_id), probe
        assert not same_segment(encode_segment(probe.value), encode_segment(project_id)), probe


def test_a_redactor_learns_values_derived_from_a_secret() -> None:
    redactor = Redactor([(TOKEN, "$OMS_TOKEN")])
    redactor.add(TOKEN.swapcase(), "$OMS_TOKEN_LOOKALIKE_0")
    redactor.add(TOKEN[:-1], "$OMS_TOKEN_LOOKALIKE_1")
    assert redactor.text(f"a {TOKEN} b {TOKEN.swapcase()}") == "a $OMS_TOKEN b $OMS_TOKEN_LOOKALIKE_0"
    assert redactor.text(TOKEN[:-1] + "!") == "$OMS_TOKEN_LOOKALIKE_1!"


# -- each probe class, and a faulty server only it catches ---------------------------------------------------

# fault switch -> (the check that must fail, the probe whose answer shows it)
ONLY_LOOKALIKES_CATCH = {
    "strip_group_id": ("lookalike-ids", "a space in front"),
    "case_insensitive_group_id": ("lookalike-ids", "upper-cased"),
    "nfkc_group_id": ("lookalike-ids", "in fullwidth characters"),
    "strip_separators": ("lookalike-ids", "a separator added in front"),
    "nul_terminated_ids": ("lookalike-ids", "a trailing NUL"),
    "trailing_dot_ignored": ("lookalike-ids", "a trailing dot"),
    "token_case_insensitive": ("lookalike-tokens", "case swapped"),
    "token_prefix_match": ("lookalike-tokens", "without its last character"),
    "token_extension_match": ("lookalike-tokens", "one more character"),
    "token_strip": ("lookalike-tokens", "between no-break spaces"),
    "any_token_header": ("lookalike-tokens", "two X-Auth-Token lines"),
    "token_list_any": ("lookalike-tokens", "a comma-joined list"),
    "case_insensitive_project": ("lookalike-projects", "look-alike of the project id (upper-cased)"),
    "drop_path_params": ("lookalike-projects", "a path parameter"),
}


@pytest.mark.parametrize("fault", list(ONLY_LOOKALIKES_CATCH))
def test_each_loosened_comparison_is_caught_by_its_lookalike_probe_alone(fault: str) -> None:
    check, probe = ONLY_LOOKALIKES_CATCH[fault]
    result = run_suite(variant(**{fault: True}), timeout=0.5)
    failing = {c.check: c for c in result.checks if c.verdict is not Verdict.PASS}
    assert set(failing) == {check}, {name: [f.title for f in c.failures] for name, c in failing.items()}
    first = failing[check].failures[0]
    assert probe in first.title, first.title
    # The answer that shows it: a look-alike was let through (200).
    assert first.evidence and first.evidence[0].status == 200


def test_no_lookalike_token_reaches_a_report() -> None:
    probes = token_lookalikes(TOKEN, READONLY, OTHER_TOKEN)
    for fault in ("token_case_insensitive", "token_prefix_match", "token_strip"):
        report = render_json(run_suite(variant(**{fault: True}), timeout=0.5))
        assert "$OMS_TOKEN_LOOKALIKE_" in report  # the failing probe's evidence is there, redacted
        for probe in probes:
            for _, value in probe.headers:
                assert value not in report and json.dumps(value)[1:-1] not in report, probe.how


def test_an_aksk_only_target_sends_no_lookalike_token_and_spends_no_group() -> None:
    result = run_suite(variant(huawei=True), huawei=True, aksk_only=True)
    by_name = {c.check: c for c in result.checks}
    assert by_name["lookalike-tokens"].requests == 0
    assert "AK/SK only" in by_name["lookalike-tokens"].inconclusive["STOP-AUTHN"]
    assert by_name["lookalike-ids"].verdict is Verdict.PASS
    assert by_name["lookalike-ids"].requests > 10
