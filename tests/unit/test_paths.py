"""A path shown in a note or a reason stays one readable line, whatever id it carries; the ids read back
from a path."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.spec.paths import brief, encode_segment, path_ids, stop_path


def test_a_long_segment_shows_its_start_and_length_and_the_rest_of_the_path_stays() -> None:
    path = stop_path("p" * 32, "0" * 1024)
    assert brief(path) == f"/v2/{'p' * 32}/taskgroups/{'0' * 16}…<1,024 chars>/stop"


def test_a_wide_encoded_id_is_abbreviated_and_an_ordinary_path_is_unchanged() -> None:
    wide = stop_path("f4e146cac1de45669c3fed73dc3b9c6f", "😀" * 1024)  # 12,288 characters encoded
    assert "…<12,288 chars>" in brief(wide) and len(brief(wide)) < 120
    ordinary = stop_path("f4e146cac1de45669c3fed73dc3b9c6f", "157ece42-3270-4824-a3d2-f0187a03ca01")
    assert brief(ordinary) == ordinary


def _every_byte_escaped(value: str) -> str:
    return "".join(f"%{byte:02X}" for byte in value.encode())


@given(
    st.text(min_size=1, max_size=40),
    st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4),
    st.booleans(),
)
def test_an_id_skipped_as_too_long_compares_as_its_decoding_would(
    value: str, known: list[str], escape_all: bool
) -> None:
    """path_ids(longest=...) leaves a segment too long to be any known id undecoded: every comparison with
    the known ids comes out as with the decoded id - also for a known id spelt with every byte escaped."""
    longest = max(len(k.encode()) for k in known)
    segment = _every_byte_escaped(value) if escape_all else encode_segment(value)
    path = f"/v2/{segment}/taskgroups/{segment}/stop"
    assert path_ids(path) == (value, value)
    for got in path_ids(path, longest=longest):
        assert [got == k for k in known] == [value == k for k in known]
    for k in known:  # a known id in a path, however spelt, is still found
        spelt = f"/v2/{_every_byte_escaped(k)}/taskgroups/{encode_segment(k)}/stop"
        assert path_ids(spelt, longest=longest) == (k, k)
