"""A path shown in a note or a reason stays one readable line, whatever id it carries."""

from __future__ import annotations

from conformance.spec.paths import brief, stop_path


def test_a_long_segment_shows_its_start_and_length_and_the_rest_of_the_path_stays() -> None:
    path = stop_path("p" * 32, "0" * 1024)
    assert brief(path) == f"/v2/{'p' * 32}/taskgroups/{'0' * 16}…<1,024 chars>/stop"


def test_a_wide_encoded_id_is_abbreviated_and_an_ordinary_path_is_unchanged() -> None:
    wide = stop_path("f4e146cac1de45669c3fed73dc3b9c6f", "😀" * 1024)  # 12,288 characters encoded
    assert "…<12,288 chars>" in brief(wide) and len(brief(wide)) < 120
    ordinary = stop_path("f4e146cac1de45669c3fed73dc3b9c6f", "157ece42-3270-4824-a3d2-f0187a03ca01")
    assert brief(ordinary) == ordinary
