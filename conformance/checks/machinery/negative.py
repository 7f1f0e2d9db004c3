"""The fuzz check's negative cases, drawn from what the contract says of each parameter.

A negative case is about one parameter of the stop operation made invalid against the contract: longer
than its ``maxLength``, shorter than its ``minLength`` (an empty token), left out while ``required``, or not
of its declared ``type`` (where the type is one a string can fail to be: integer, number, boolean). Every
limit is read from the document (:func:`conformance.spec.documents.stop_parameters`), none is written here.

Why not Schemathesis's negative mode: on this operation it cost ~15 ms of CPU per example and half of its
examples repeated a case drawn before (500 examples, seed 1: 7.5 s of CPU, 274 distinct cases), most of it
building and validating parameter strategies, mutating whole cases and %-quoting long strings - four fifths
of a cold deep fuzz's CPU. What a negative case is about is small and known, so it is drawn here through
Hypothesis's public API only (``@given`` of a composite strategy, seeded, no database): 500 distinct cases
in ~0.5 s of CPU.

- each violation (:func:`violations`: each parameter's, in the document's order) has an even share of the
  examples, drawn in a Hypothesis run of its own, and the runs' cases take turns: every violation appears
  however few examples are drawn;
- a case repeating one already drawn is rejected (``assume``), so a plan holds ``examples`` distinct cases
  and Hypothesis draws another in its place;
- a value longer than its limit is a short drawn head and a drawn unit repeated to a drawn length just
  above the limit (a value drawn character by character would overrun Hypothesis's choice budget);
- the other parameters are drawn valid, and half the cases that are not about the project address the
  credential's own project, so that they reach the group lookup rather than stop at the project check;
- a quarter carry an unknown extra header (``X-`` and a drawn token), as Schemathesis's did: an
  implementation must ignore what it does not know.

The cases are a function of (document, seed, example count, own project) alone, like the rest of the corpus
(machinery/generation.py runs this inside :func:`conformance._seams.hypothesis.seed_only`). Generated group
ids go through the fuzz check's safety filter (``fuzz.may_send``) like every other case - a generator that
knows no listed id cannot be what keeps them out - and a negative case in the own project is held to it even
when it sends no valid token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.errors import SpecError
from conformance.spec.documents import stop_parameters

TOO_LONG, TOO_SHORT, MISSING, WRONG_TYPE = "too long", "too short", "missing", "wrong type"
# The schema keywords this generator honours; annotations besides. Anything else (pattern, enum, format,
# minimum, ...) would make its "valid" values invalid, so it refuses the document rather than guess.
_UNDERSTOOD = {"type", "minLength", "maxLength"}
_ANNOTATIONS = {"description", "example", "examples", "title", "default", "deprecated"}
_TYPED = {"integer", "number", "boolean"}  # types a path or header value can visibly fail to be
HEAD = 8  # characters drawn as they come at the start of a too-long value; the rest repeats a unit


@dataclass(frozen=True)
class Parameter:
    """What the contract says of one parameter of the stop operation."""

    name: str
    location: str  # "path" | "header"
    required: bool
    type: str
    min_length: int
    max_length: int | None

    @classmethod
    def from_contract(cls, entry: dict[str, Any]) -> Parameter:
        schema = entry.get("schema", {})
        unknown = set(schema) - _UNDERSTOOD - _ANNOTATIONS
        if unknown or entry.get("in") not in ("path", "header"):
            raise SpecError(
                f"the fuzz check's negative cases cannot be drawn for parameter {entry.get('name')!r} "
                f"({entry.get('in')}): it understands path and header parameters with "
                f"{', '.join(sorted(_UNDERSTOOD))} only, not {', '.join(sorted(unknown)) or entry.get('in')}"
            )
        max_length = schema.get("maxLength")
        return cls(
            name=str(entry["name"]),
            location=str(entry["in"]),
            required=bool(entry.get("required", entry["in"] == "path")),
            type=str(schema.get("type", "string")),
            min_length=int(schema.get("minLength", 0)),
            max_length=int(max_length) if max_length is not None else None,
        )


@dataclass(frozen=True)
class ParameterViolation:
    parameter: Parameter
    kind: str


def parameters(document: dict[str, Any]) -> tuple[Parameter, ...]:
    return tuple(Parameter.from_contract(entry) for entry in stop_parameters(document))


def violations(params: tuple[Parameter, ...]) -> tuple[ParameterViolation, ...]:
    """Every way the contract lets each parameter be invalid, in the document's order."""
    found: list[ParameterViolation] = []
    for p in params:
        if p.type == "string" and p.max_length is not None:
            found.append(ParameterViolation(p, TOO_LONG))
        # An empty path segment is another route, not a short id (Schemathesis leaves it out too): a path
        # parameter is too short only where its minLength leaves room above zero.
        if p.type == "string" and p.min_length > (1 if p.location == "path" else 0):
            found.append(ParameterViolation(p, TOO_SHORT))
        if p.required and p.location != "path":
            found.append(ParameterViolation(p, MISSING))
        if p.type in _TYPED:
            found.append(ParameterViolation(p, WRONG_TYPE))
    return tuple(found)


Draw = Callable[[Any], Any]  # a composite strategy's draw


# The strategies are built once a process and reused: building and validating one costs more than
# drawing from it (a quarter of a plan's CPU when they were built per case, measured).
@functools.cache
def _alphabet(location: str) -> Any:
    from hypothesis import strategies as st

    if location == "header":
        # Visible ASCII: a header value the client may send as it is, with no space at either end that a
        # server would strip (and so change the length the case is about).
        return st.characters(min_codepoint=0x21, max_codepoint=0x7E)
    # Any character UTF-8 can encode (st.characters() alone includes lone surrogates, which it cannot):
    # the client %-encodes path segments.
    return st.characters(codec="utf-8")


@functools.cache
def _valid(p: Parameter) -> Any:
    from hypothesis import strategies as st

    if p.type == "integer":
        return st.integers().map(str)
    if p.type == "number":
        return st.floats(allow_nan=False, allow_infinity=False).map(repr)
    if p.type == "boolean":
        return st.sampled_from(["true", "false"])
    low = max(p.min_length, 1 if p.location == "path" else 0)
    return st.text(_alphabet(p.location), min_size=low, max_size=p.max_length)


@functools.cache
def _integers(low: int, high: int) -> Any:
    from hypothesis import strategies as st

    return st.integers(low, high)


@functools.cache
def _text(location: str, low: int, high: int | None) -> Any:
    from hypothesis import strategies as st

    return st.text(_alphabet(location), min_size=low, max_size=high)


def valid_value(draw: Draw, p: Parameter) -> str:
    return str(draw(_valid(p)))


def invalid_value(draw: Draw, violation: ParameterViolation) -> tuple[str | None, str]:
    """The value a violation sends (None: left out), and what is wrong with it, for the report."""
    p, kind = violation.parameter, violation.kind
    if kind == MISSING:
        return None, f"{p.name} missing (required)"
    if kind == WRONG_TYPE:
        # "~" starts no integer, number or boolean in any spelling a parser accepts.
        value = "~" + str(draw(_text(p.location, 0, HEAD)))
        return value, f"{p.name} {value[:16]!r} not {p.type}"
    if kind == TOO_SHORT:
        length = draw(_integers(1 if p.location == "path" else 0, p.min_length - 1))
        value = str(draw(_text(p.location, length, length)))
        return value, f"{p.name} of {length} characters (minLength {p.min_length})"
    assert p.max_length is not None
    # Just above the limit, where an off-by-one lives, spread so that lengths differ between cases.
    length = p.max_length + 1 + draw(_integers(0, max(8, p.max_length // 64)))
    head = str(draw(_text(p.location, 0, HEAD)))
    unit = str(draw(_text(p.location, 1, 3)))
    value = (head + unit * (length // len(unit) + 1))[:length]
    return value, f"{p.name} of {length:,} characters (maxLength {p.max_length:,})"


_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # RFC 9110 token


@functools.cache
def _extra_header() -> Any:
    from hypothesis import strategies as st

    name = st.text(st.sampled_from(_TCHAR), min_size=1, max_size=12).map("X-{}".format)
    return st.tuples(name, _text("header", 0, 16))


def extra_header(draw: Draw, taken: set[str]) -> tuple[tuple[str, str], ...]:
    """None in three cases of four; else one header the contract does not name."""
    if draw(_integers(0, 3)) != 3:
        return ()
    name, value = draw(_extra_header())
    return () if name.lower() in taken else ((name, value),)
