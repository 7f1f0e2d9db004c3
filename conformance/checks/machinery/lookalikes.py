"""Look-alike probes: a stop must pause only the group its id names *exactly*, and accept only the *exact*
credential, so values that merely resemble the real ones must pause nothing and be refused.

A stop names its group by project id *and* group id and authenticates by one header value, so each part of
that identity is probed alike. A server that strips, case-folds or Unicode-normalises ids (a database with
a case-insensitive collation on the project column is as common as on the group column), drops what HTTP
stacks split off a segment (servlet containers remove ``;name=value`` path parameters from both ids), or
compares tokens loosely (by prefix, ignoring case, trimming, taking one element of a comma-joined list or
one of several ``X-Auth-Token`` lines) answers every ordinary request correctly; only near misses derived
from the real values show it. The generators here are pure and
deterministic (the same id or token gives the same probes, in the same order); the checks
(checks/lookalike.py) send them.

Equivalences that are *correct* are not look-alikes. An id travels percent-encoded as one path segment
(``transport/http.py``), and RFC 3986 section 6.2.2 makes ``%61`` and ``a``, or ``%2f`` and ``%2F``, the
same segment, so a stop through such a form may legitimately pause the group: no probe's wire form is
equivalent to the listed id's (``same_segment``). HTTP strips spaces and tabs around a header value, so
``" token"`` is the token itself: token probes keep their whitespace where HTTP keeps it (a no-break space,
or a tab behind one). The valid token next to another value - a comma-joined list, a second ``X-Auth-Token``
line, after the read-only token - is no credential the page defines (it names one header value). In one
field line (a comma-joined list, the token glued to another) it is a value that is not the token: each must be
refused. Several ``X-Auth-Token`` lines are another matter: RFC 9110 section 5.3 forbids a sender to send
them for a singleton field and says nothing of what a recipient does, and ordinary stacks keep the first line
(Go, Starlette, the stdlib, servlets) or the last (a dict of headers). Such a server pauses on the valid token
itself when one of the lines is that token, so those requests are not look-alikes and are not sent (the run
says so in a note); lines of which none is the valid token (the read-only and the other project's token) are,
since whichever line a server reads, it holds no credential that may pause.

Why no probe can name another real group on a real account:
- every probe is derived from one listed pausable id, never invented;
- OMS task group ids are UUIDs (``transport/safety.py`` ``_REAL_ID``), lower-case hex;
- a probe is sent only if it is not UUID-shaped, or if it equals the listed id under a lenient
  normalisation (NFKC, trimmed, case-folded) - the upper-cased UUID, the UUID with a space around it. Such a
  probe reaches, on a lenient server, the listed group itself and, on an exact one, nothing: OMS ids are
  lower-case, so no other real id folds to the same string;
- a probe that equals any listed id (of either project) is never sent: it would be that group, exactly.
``safe_id_probes`` enforces all of this; ``tests/suite/test_lookalikes.py`` proves it for UUID-shaped ids.

Why no project probe can reach another real project: it is derived from the target's own project id and
sent only for a listed pausable group of that project (the keeper), with that project's credential; a
probe is sent only if it is not shaped like a real project id (32 hex characters) or folds back to the
target's own, and never if it equals a listed project id. A credential is scoped to its project on the
platform, and the group id (a UUID) exists in no other project, so the one group such a stop can pause is
the listed group itself - on a server that loosened the comparison, which is the finding.
``safe_project_probes`` enforces it. Path parameters (``;x=1`` after an id) go only to the listed keeper,
in the target's own project.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from conformance.spec.paths import encode_segment
from conformance.transport.safety import _REAL_ID, REAL_PROJECT_ID

_FULLWIDTH_OFFSET = 0xFEE0  # U+FF01..U+FF5E are the fullwidth forms of ASCII "!".."~"
_SUPERSCRIPT = dict(zip("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹", strict=True))
_LIGATURES = (("ffi", "ﬃ"), ("ffl", "ﬄ"), ("ff", "ﬀ"), ("fi", "ﬁ"), ("fl", "ﬂ"))
_HTTP_OWS = " \t"  # what HTTP strips around a header value (RFC 9110 section 5.5)
_NBSP = "\xa0"


@dataclass(frozen=True)
class Probe:
    """One look-alike: the value to send, what it is (for the finding's title) and its class."""

    value: str
    how: str
    kind: str


@dataclass(frozen=True)
class TokenProbe:
    """A look-alike credential: the X-Auth-Token line(s) to send instead of the valid one."""

    headers: tuple[tuple[str, str], ...]
    how: str
    kind: str


# -- ids ---------------------------------------------------------------------------------------------------


def neighbour_forms(group_id: str) -> set[str]:
    """What state.neighbour_ids already sends (one character longer, one shorter): not sent twice."""
    return {group_id + "x", group_id[:-1]}


def id_lookalikes(group_id: str) -> list[Probe]:
    """Ids that only resemble ``group_id``, unfiltered; see :func:`safe_id_probes` for what is sent."""
    g = group_id
    candidates = [
        Probe(g[1:], "its first character removed", "affix"),
        Probe("x" + g, "one character added in front", "affix"),
        Probe("-" + g, "a separator added in front", "affix"),
        Probe(g + "-", "a separator added at the end", "affix"),
        Probe(g + "-1", "a suffix added", "affix"),
    ]
    if "-" in g.strip("-"):
        candidates.append(Probe(g.split("-", 1)[1], "its first dash-separated part removed", "affix"))
        candidates.append(Probe(g.rsplit("-", 1)[0], "its last dash-separated part removed", "affix"))
    for char, name in ((" ", "a space"), ("\t", "a tab"), (_NBSP, "a no-break space")):
        candidates.append(Probe(char + g, f"{name} in front", "whitespace"))
        candidates.append(Probe(g + char, f"{name} at the end", "whitespace"))
    for changed, how in (
        (g.upper(), "upper-cased"),
        (g.lower(), "lower-cased"),
        (g.swapcase(), "case swapped"),
    ):
        candidates.append(Probe(changed, how, "case"))
    candidates += _compatibility_forms(g)
    candidates.append(Probe(g + ".", "a trailing dot", "terminator"))
    candidates.append(Probe(g + "\x00", "a trailing NUL (%00)", "terminator"))
    seen = {g} | neighbour_forms(g)
    probes = []
    for probe in candidates:
        if probe.value and probe.value not in seen:
            seen.add(probe.value)
            probes.append(probe)
    return probes


def _compatibility_forms(g: str) -> list[Probe]:
    """Different strings that NFKC (or NFKD) maps to the same one as ``g``."""
    forms = [Probe(_fullwidth(g), "in fullwidth characters", "compatibility")]
    last = next((i for i in range(len(g) - 1, -1, -1) if g[i].isascii() and g[i].isalnum()), None)
    if last is not None:
        forms.append(
            Probe(g[:last] + _fullwidth(g[last]) + g[last + 1 :], "one fullwidth character", "compatibility")
        )
    digit = next((i for i, c in enumerate(g) if c in _SUPERSCRIPT), None)
    if digit is not None:
        forms.append(
            Probe(g[:digit] + _SUPERSCRIPT[g[digit]] + g[digit + 1 :], "a superscript digit", "compatibility")
        )
    for letters, ligature in _LIGATURES:
        if letters in g:
            forms.append(
                Probe(g.replace(letters, ligature, 1), f"a ligature for {letters!r}", "compatibility")
            )
            break
    for form in ("NFD", "NFC"):  # only ids with accented letters have a second canonical form
        forms.append(Probe(unicodedata.normalize(form, g), f"in {form}", "compatibility"))
    same = unicodedata.normalize("NFKC", g)
    return [p for p in forms if p.value != g and unicodedata.normalize("NFKC", p.value) == same]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + _FULLWIDTH_OFFSET) if "!" <= c <= "~" else c for c in text)


def lenient(value: str) -> str:
    """The loosest normalisation a lenient server might apply to an id: NFKC, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def uuid_shaped(value: str) -> bool:
    """The safety guard's test for an id that could be real (it also ignores surrounding whitespace)."""
    return bool(_REAL_ID.match(value.strip()))


def same_segment(a: str, b: str) -> bool:
    """Whether two path segments name the same resource under RFC 3986 section 6.2.2 normalisation."""
    return _rfc3986_normal(a) == _rfc3986_normal(b)


def _rfc3986_normal(segment: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        unreserved = char.isascii() and (char.isalnum() or char in "-._~")
        return char if unreserved else match.group(0).upper()

    return re.sub(r"%([0-9A-Fa-f]{2})", fix, segment)


def safe_id_probes(group_id: str, listed: Collection[str]) -> list[Probe]:
    """The look-alikes of ``group_id`` that may be sent: none is another listed id, none is the same
    segment on the wire, and none could be another real group (see the module docstring)."""
    wire = encode_segment(group_id)
    return [
        p
        for p in id_lookalikes(group_id)
        if p.value not in listed
        and not same_segment(encode_segment(p.value), wire)
        and (not uuid_shaped(p.value) or lenient(p.value) == lenient(group_id))
    ]


def safe_project_probes(project_id: str, listed_projects: Collection[str]) -> list[Probe]:
    """Look-alikes of the target's project id that may be sent (see the module docstring)."""
    wire = encode_segment(project_id)
    candidates = [*id_lookalikes(project_id), Probe(project_id + "x", "one character added", "affix")]
    return [
        p
        for p in candidates
        if p.value not in listed_projects
        and not same_segment(encode_segment(p.value), wire)
        and cannot_be_another_project(p.value, project_id)
    ]


def cannot_be_another_project(value: str, project_id: str) -> bool:
    """Not shaped like a real project id, or folding back to ``project_id`` itself."""
    return not REAL_PROJECT_ID.match(value.strip()) or lenient(value) == lenient(project_id)


@dataclass(frozen=True)
class PathParameterProbe:
    """Raw text after the encoded project and group segments: a path parameter (RFC 3986 section 3.3)."""

    after_project: str
    after_group: str
    how: str


PATH_PARAMETER_PROBES = (
    PathParameterProbe("", ";x=1", "a path parameter after the group id"),
    PathParameterProbe(";x=1", "", "a path parameter after the project id"),
    PathParameterProbe(";jsessionid=0", ";jsessionid=0", "a servlet session parameter after both ids"),
)


# -- tokens ------------------------------------------------------------------------------------------------


def token_lookalikes(token: str, readonly: str | None = None, other: str | None = None) -> list[TokenProbe]:
    """Credentials that only resemble ``token`` (the target's valid one), and the read-only and other
    project's tokens where a lazy comparison would confuse them with it."""

    def one(value: str, how: str, kind: str) -> TokenProbe:
        return TokenProbe((("X-Auth-Token", value),), how, kind)

    candidates = [
        one(token.swapcase(), "the valid token, case swapped", "case"),
        one(token.upper(), "the valid token, upper-cased", "case"),
        one(token.lower(), "the valid token, lower-cased", "case"),
        one(token[:-1], "the valid token without its last character", "prefix"),
    ]
    if len(token) > 16:
        candidates.append(one(token[:-8], "the valid token without its last 8 characters", "prefix"))
    candidates += [
        one(token + "x", "the valid token and one more character", "extension"),
        one(_NBSP + token + _NBSP, "the valid token between no-break spaces", "whitespace"),
        one(token + _NBSP, "the valid token and a no-break space", "whitespace"),
        one(_NBSP + "\t" + token, "the valid token behind a no-break space and a tab", "whitespace"),
    ]
    for name, extra in (("read-only", readonly), ("other project's", other)):
        if extra:
            candidates.append(
                one(token + extra, f"the valid token followed by the {name} token", "confusion")
            )
            candidates.append(
                one(extra + token, f"the {name} token followed by the valid token", "confusion")
            )
    if readonly and other:
        for first, second, how in (
            (readonly, other, "the read-only, then the other project's"),
            (other, readonly, "the other project's, then the read-only"),
        ):
            pair = (("X-Auth-Token", first), ("X-Auth-Token", second))
            candidates.append(TokenProbe(pair, f"two X-Auth-Token lines: {how} token", "confusion"))
    candidates += _folded(token, readonly)
    seen: set[tuple[tuple[str, str], ...]] = set()
    probes = []
    for probe in candidates:
        values = [v for _, v in probe.headers]
        # HTTP strips spaces and tabs around a value: a probe that arrives as the token itself is none.
        # Of several lines a server may read either: one that arrives as the token makes no look-alike.
        arrives_as_token = token in [v.strip(_HTTP_OWS) for v in values]
        if arrives_as_token or any(not v.strip(_HTTP_OWS) for v in values) or probe.headers in seen:
            continue
        seen.add(probe.headers)
        probes.append(probe)
    return probes


def _folded(token: str, readonly: str | None) -> list[TokenProbe]:
    """The valid token and another value folded into one field line, as a list: not the token."""
    other = readonly or NOT_A_TOKEN
    name = "the read-only token" if readonly else "another value"
    return [
        TokenProbe((("X-Auth-Token", value),), how, "folding")
        for value, how in (
            (f"{token}, {NOT_A_TOKEN}", "a comma-joined list: the valid token, then another value"),
            (f"{NOT_A_TOKEN}, {token}", "a comma-joined list: another value, then the valid token"),
            (f"{other},{token}", f"a comma-joined list: {name}, then the valid token"),
        )
    ]


SEVERAL_LINES_NOT_SENT = (
    "lookalike-tokens: several X-Auth-Token lines of which one is the valid token were not sent: the page "
    "names one header value and is silent on several (RFC 9110 section 5.3 forbids sending them), and a "
    "server that reads the first or the last line pauses on the valid token itself - not a finding either way"
)


NOT_A_TOKEN = "omsconf-not-a-token"
