"""Ids that stores match as patterns (machinery/patterns.py): the generator never sends a probe that could
select two listed ids, and each store that reads an id as a pattern (or decodes it twice) is caught by
lookalike-ids alone, while a server that normalises the path as RFC 3986 allows is not.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.machinery.lookalikes import same_segment, uuid_shaped
from conformance.checks.machinery.patterns import READINGS, safe_pattern_probes, selects
from conformance.results import Verdict
from conformance.spec.paths import encode_segment

from .model import variant
from .test_catalogue import run_suite

uuids = st.uuids().map(str)


@given(group_id=uuids, others=st.lists(uuids, max_size=5))
def test_every_kind_is_made_for_a_uuid_and_none_could_select_another_listed_id(
    group_id: str, others: list[str]
) -> None:
    listed = [group_id, *others]
    probes = safe_pattern_probes(group_id, listed)
    assert {kind for _, _, kind in probes} == {"like", "regex", "glob", "decode"}
    for value, _, _ in probes:
        assert selects(value, group_id)
        assert not any(selects(value, other) for other in others if other != group_id)
        assert not uuid_shaped(value)
        assert not same_segment(encode_segment(value), encode_segment(group_id))


@given(group_id=uuids, position=st.integers(0, 35), char=st.sampled_from("0123456789abcdef"))
def test_a_listed_id_one_character_away_is_never_selected(group_id: str, position: int, char: str) -> None:
    """The ids a one-character wildcard could reach besides ``g``: where one is listed, no probe may
    select it (the generator then takes the next candidate, or sends none of that kind)."""
    if group_id[position] == "-" or group_id[position] == char:
        return
    neighbour = group_id[:position] + char + group_id[position + 1 :]
    for value, _, _ in safe_pattern_probes(group_id, [group_id, neighbour]):
        assert not selects(value, neighbour), value


def test_ids_that_share_a_prefix_get_the_longer_pattern() -> None:
    listed = ["group-1", "group-2", "other-group-1"]
    values = [value for value, _, _ in safe_pattern_probes("group-1", listed)]
    assert values[0] == "_roup-1"
    assert "group-%" not in values and "group-1%" in values  # "group-%" selects group-2 too
    assert ".roup-1" not in values and "^.roup-1" in values  # found anywhere, it selects other-group-1


def test_the_twice_encoded_probe_travels_as_percent_25() -> None:
    gid = str(uuid.UUID(int=0x157ECE4232704824A3D2F0187A03CA01))
    (decode,) = [value for value, _, kind in safe_pattern_probes(gid, [gid]) if kind == "decode"]
    assert decode == "%31" + gid[1:] and encode_segment(decode).startswith("%2531")
    assert READINGS["a second percent-decoding"](decode, gid)


# pattern switch -> the probe (by its finding's title) whose answer shows it
FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "LIKE": ({"pattern_ids": "like"}, "replaced by `_`"),
    "regex": ({"pattern_ids": "regex"}, "replaced by `.`"),
    "glob": ({"pattern_ids": "glob"}, "`*` for a run"),
    "decodes twice": ({"decode_twice": True}, "percent-encoded twice"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_pattern_store_is_caught_by_lookalike_ids_alone(fault: str) -> None:
    switches, probe = FAULTS[fault]
    result = run_suite(variant(**switches), timeout=0.5)
    failing = {c.check: c for c in result.checks if c.verdict is not Verdict.PASS}
    assert set(failing) == {"lookalike-ids"}, {n: [f.title for f in c.failures] for n, c in failing.items()}
    first = failing["lookalike-ids"].failures[0]
    assert probe in first.title and first.evidence[0].status == 200, first.title


def test_a_server_that_normalises_percent_encoded_unreserved_characters_passes_lookalike_ids() -> None:
    result = run_suite(variant(normalise_unreserved=True), timeout=0.5)
    lookalike = next(c for c in result.checks if c.check == "lookalike-ids")
    assert lookalike.verdict is Verdict.PASS, [f.title for f in lookalike.failures]
