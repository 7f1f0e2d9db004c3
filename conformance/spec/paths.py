"""The operation's paths as requests write them: the stop, show and start paths of one group, built from raw
ids (the templates are the contract's: spec/documents.py).

Each id is percent-encoded whole - every reserved character, and ``.``/``..``, which clients would otherwise
normalise away - so that it reaches the server as one segment, however odd. :func:`path_ids` reads the ids
back from a path built here.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from conformance.spec.documents import (
    COLLECTION_SEGMENT,
    SHOW_PATH,
    START_SUFFIX,
    STOP_SUFFIX,
    VERSION_SEGMENT,
)


def is_dot_segment(value: str) -> bool:
    """``.`` or ``..``: RFC 3986 section 6.2.2 removes such segments whichever way they are spelt (``%2E`` is
    ``.``, section 2.3), so a stack or proxy that normalises them is right and no such id can reach an
    operation. The checks send none (a stop to one is not a request about an id)."""
    return value in (".", "..")


def encode_segment(value: str) -> str:
    if is_dot_segment(value):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def stop_path(
    project_id: str, group_id: str, *, suffix: str = STOP_SUFFIX, params: tuple[str, str] = ("", "")
) -> str:
    """The stop path of a group (``suffix``: that of another operation on it); ``params``: raw text after
    the encoded project and group segments (path parameters such as ``;x=1``, which percent-encoding would
    turn into part of the id)."""
    project, group = encode_segment(project_id) + params[0], encode_segment(group_id) + params[1]
    return SHOW_PATH.format(project_id=project, group_id=group) + suffix


def show_path(project_id: str, group_id: str) -> str:
    return stop_path(project_id, group_id, suffix="")


def start_path(project_id: str, group_id: str) -> str:
    return stop_path(project_id, group_id, suffix=START_SUFFIX)


def path_ids(path: str, *, longest: int | None = None) -> tuple[str, str]:
    """(project_id, group_id) of a path built here; ("", "") for any other path.

    ``longest``: for a caller that only compares the ids with ids of at most this many UTF-8 bytes. A segment
    longer than three times that (an encoded byte takes one or three characters) can decode to none of them,
    nor equal one as it is, so it is returned undecoded: decoding an id of 1,024 4-byte characters, 12 KiB
    encoded, takes a millisecond, and the fuzz check sends hundreds."""

    def decoded(segment: str) -> str:
        return segment if longest is not None and len(segment) > 3 * longest else unquote(segment)

    parts = path.split("/")
    if len(parts) >= 5 and parts[1] == VERSION_SEGMENT and parts[3] == COLLECTION_SEGMENT:
        return decoded(parts[2]), decoded(parts[4])
    return "", ""


LONG_SEGMENT = 48  # longer path segments are abbreviated where a path is shown in a line of text


def brief(path: str) -> str:
    """``path`` for a note or a reason on one line: a segment over ``LONG_SEGMENT`` characters (the length
    probes send ids of 1,024 characters, up to 12 KiB percent-encoded) shows its start and its length."""
    return "/".join(
        f"{segment[:16]}…<{len(segment):,} chars>" if len(segment) > LONG_SEGMENT else segment
        for segment in path.split("/")
    )
