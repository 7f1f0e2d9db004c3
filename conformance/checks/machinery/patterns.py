"""Ids that stores match as patterns: look-alikes of a listed id that a store reading the id as a pattern
(SQL ``LIKE``, a regular expression, a shell glob) or decoding it a second time would take for that id.

A store that builds ``WHERE id LIKE ?`` from the path, feeds the id to ``re.match`` or ``fnmatch``, or
percent-decodes an id the HTTP layer already decoded answers every ordinary stop correctly; only an id with
a wildcard in it shows the fault, by pausing the listed group it resembles. Each probe here must be refused
(the id names no group) and pause nothing (``lookalike_ids`` verifies the group afterwards).

The probes, each derived from one listed pausable id ``g``:
- one character replaced by ``_`` (LIKE: any one character), and by ``.`` (a regex's any one character);
- ``%`` (LIKE), ``.*`` (a regex) and ``*`` (a glob) for a run: after all of ``g`` but its last character,
  else after ``g``, else in place of one character (the first that selects no other listed id);
- one character percent-encoded once more: the id holds ``%6D`` for ``m``, which travels as ``%256D``; a
  store that decodes twice reads ``g``. (RFC 3986 section 6.2.2 makes only an encoded *unreserved*
  character equal to the character: ``%25`` is ``%``, so a server that normalises the path correctly
  still sees ``%6D`` in the id - a legal variant, which the tests run.)

Why no probe can pause a group the user did not list (the safety argument; :func:`safe_pattern_probes`
enforces the part that can be computed):
- a probe is sent only if, under every reading here (LIKE, a regex matched in full, from the start or
  anywhere, a glob, a second decoding), it matches ``g`` and no other listed id of either project: it can
  never match two listed ids;
- OMS ids are UUIDs (36 characters, lower-case hex and dashes). A wildcard for one character of a UUID
  matches at most 16 ids, ``g`` and 15 that differ from it in that one hex digit; a prefix of 35 of its 36
  characters followed by a wildcard matches ids starting with those 35, and every UUID has 36 characters,
  so again at most 16 (likewise a run wildcard in place of one character: a run of exactly one keeps the
  36 characters). Read as a regex, the
  glob's ``*`` repeats the character before it, so its probe selects ids sharing 34 characters with ``g``:
  at most 256. An unlisted group of the account is one of those only if its random 122-bit id agrees with
  ``g`` on 34 characters or more: for an account of 10,000 groups below 10,000 x 256 / 2^114, about
  10^-28. No shorter prefix is ever sent;
- a probe is not UUID-shaped (``_``, ``.``, ``%``, ``*`` are not hex), so the safety guard
  (transport/safety.py) would refuse any generated id like it anyway, and it is sent only here, with the
  listed group it was made from.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Collection
from urllib.parse import unquote

from conformance.checks.machinery.base import Title
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.ordered import each_in_order

# Each reading a store may give an id it takes for a pattern: does ``pattern`` select ``candidate``?
Reading = Callable[[str, str], bool]


def like(pattern: str, candidate: str) -> bool:
    """SQL ``LIKE`` without an escape character: ``_`` one character, ``%`` any run."""
    return _like_regex(pattern).fullmatch(candidate) is not None


@functools.lru_cache(maxsize=4096)
def _like_regex(pattern: str) -> re.Pattern[str]:
    # Made once per pattern: each candidate probe is tried against every listed id, on the run's loop.
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _regex(find: Callable[[str, str], object]) -> Reading:
    def reading(pattern: str, candidate: str) -> bool:
        try:
            return find(pattern, candidate) is not None
        except re.error:
            return False

    return reading


READINGS: dict[str, Reading] = {
    "LIKE": like,
    "a regex matched in full": _regex(re.fullmatch),
    "a regex matched from the start": _regex(re.match),
    "a regex found anywhere": _regex(re.search),
    "a glob": lambda pattern, candidate: fnmatch.fnmatchcase(candidate, pattern),
    "a second percent-decoding": lambda pattern, candidate: unquote(pattern) == candidate,
}


def selects(pattern: str, candidate: str) -> bool:
    """Whether any reading of ``pattern`` selects ``candidate``."""
    return any(reading(pattern, candidate) for reading in READINGS.values())


def _one_replaced(g: str, wildcard: str) -> list[str]:
    """``g`` with one character replaced by ``wildcard``, first position first."""
    return [g[:i] + wildcard + g[i + 1 :] for i in range(len(g)) if g[i] != wildcard]


def _anchored(g: str, wildcard: str) -> list[str]:
    """:func:`_one_replaced`, then the same anchored with ``^``: a regex found anywhere in an id would also
    select a listed id that holds ``g`` (``other-group-1`` holds ``group-1``)."""
    replaced = _one_replaced(g, wildcard)
    return replaced + ["^" + value for value in replaced]


def _run_for(g: str, wildcard: str) -> list[str]:
    """``wildcard`` for a run of characters: after all but the last character of ``g`` first, then after
    ``g`` itself (where another listed id shares that prefix, as ``group-1`` and ``group-2`` do), then in
    place of one character, the first, then from the end (where a reading of the wildcard as a regex, or
    a run in front, would select another listed id too)."""
    inside = [g[:i] + wildcard + g[i + 1 :] for i in (0, *range(len(g) - 2, 0, -1))]
    return [g[:-1] + wildcard, g + wildcard, *inside] if len(g) > 1 else [g + wildcard]


def _encoded_twice(g: str) -> list[str]:
    """``g`` with one character written percent-encoded (its UTF-8 bytes): on the wire ``%25XX``."""
    return [g[:i] + "".join(f"%{b:02X}" for b in g[i].encode()) + g[i + 1 :] for i in range(len(g))]


# (kind, how the finding names it, the candidates in order of preference)
_CANDIDATES: tuple[tuple[str, str, Callable[[str], list[str]]], ...] = (
    ("like", "one character replaced by `_` (SQL LIKE: any one character)", lambda g: _one_replaced(g, "_")),
    ("like", "`%` for a run of characters (SQL LIKE)", lambda g: _run_for(g, "%")),
    ("regex", "one character replaced by `.` (a regex: any one character)", lambda g: _anchored(g, ".")),
    ("regex", "`.*` for a run of characters (a regex)", lambda g: [*_run_for(g, ".*"), "^" + g + ".*"]),
    ("glob", "`*` for a run of characters (a glob)", lambda g: _run_for(g, "*")),
    ("decode", "one character percent-encoded twice (%25XX on the wire)", _encoded_twice),
)


def safe_pattern_probes(group_id: str, listed: Collection[str]) -> list[tuple[str, str, str]]:
    """(value, how, kind) for each pattern probe of ``group_id`` that may be sent: the first candidate of
    each kind that selects ``group_id`` and, under no reading, any other listed id (module docstring)."""
    others = [other for other in listed if other != group_id]
    probes = []
    for kind, how, candidates in _CANDIDATES:
        for value in candidates(group_id):
            if value in listed or not selects(value, group_id):
                continue
            if any(selects(value, other) for other in others):
                continue
            probes.append((value, how, kind))
            break
    return probes


async def send_pattern_probes(ctx: CheckContext, group: str, listed: Collection[str]) -> None:
    """Stop each pattern probe of the keeper ``group``: each must be refused (the caller then verifies
    the group was left pausable, as for every look-alike)."""
    probes = safe_pattern_probes(group, listed)
    for value, _, _ in probes:
        # Enforced here as well as in the generator: this is the line that keeps other groups safe.
        assert value not in listed and not any(selects(value, other) for other in listed if other != group)

    async def send(probe: tuple[str, str, str]) -> None:
        value, how, _ = probe
        sent = await ctx.stop(value)
        ctx.keeper_paused(sent)
        ctx.expect(
            sent,
            ctx.expected.unknown_group | ctx.expected.gateway_404,
            Title("A pattern-like look-alike of a listed group's id ({how}) was not refused", how=how),
            "an id is compared as a string: a store that reads it as a pattern (or decodes it twice) "
            "reaches a group it does not name",
        )

    await each_in_order(
        probes, send, ctx.concurrency
    )  # independent: judged in this order (machinery/ordered.py)
