"""Fault injection, so that client authors can test retries, timeouts and parsing against the server.

Off unless asked for (``--fault SPEC``, repeatable; ``faults=[...]`` in the API). SPEC syntax:

  latency=50ms            delay every answer by 50 ms (units: ms or s, e.g. 0.2s)
  latency=10ms..200ms     delay every answer by a uniformly random 10..200 ms
  status=429@0.2          answer 429 (with Retry-After: 1) to 20% of requests, without processing them;
                          CODE is 429, 500 or 503; RATE is a fraction (0.2) or a percentage (20%)
  malformed@0.1           process the request, then send a body that is not valid JSON
  truncate@0.1            process the request, then close the connection halfway through the body
                          (an empty body is announced as `{}` and cut after `{`)
  drop@0.1                close the connection without any answer, without processing the request
  prefer                  honour a request header `Prefer: code=N` (as Prism's mock does): answer N with
                          its documented envelope without processing; N must be a documented error
                          status of the profile (strict: 400, 403; huawei: 400, 401, 403, 404, 418, 429,
                          500), anything else gets 400 OMS.0064
  seed=42                 seed the dice, for reproducible runs

Each rate is rolled independently per request, in the order drop, status (as given), malformed/truncate.
Without a transport to close (in-process calls), drop and truncate send nothing more, which ASGI test
clients report as an error.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conformance._seams import uvicorn as uvicorn_seam
from conformance.errors import UsageError

FAULT_STATUSES = (429, 500, 503)
_DURATION = r"(\d+(?:\.\d+)?)(ms|s)"
_LATENCY = re.compile(rf"latency={_DURATION}(?:\.\.{_DURATION})?")
_RATE = r"@(\d+(?:\.\d+)?%?)"
_STATUS = re.compile(rf"status=(\d{{3}}){_RATE}")
_SIMPLE = re.compile(rf"(malformed|truncate|drop){_RATE}")
_SEED = re.compile(r"seed=(\d+)")
SPEC_HELP = (
    "latency=50ms | latency=10ms..200ms | status=429@0.2 | malformed@0.1 | truncate@0.1 | drop@0.1 "
    "| prefer | seed=N"
)


@dataclass(frozen=True)
class Faults:
    latency: tuple[float, float] | None = None  # seconds, (low, high)
    statuses: tuple[tuple[int, float], ...] = ()
    malformed: float = 0.0
    truncate: float = 0.0
    drop: float = 0.0
    prefer: bool = False
    seed: int | None = None

    @property
    def active(self) -> bool:
        return self != Faults(seed=self.seed)


def parse_faults(specs: Iterable[str]) -> Faults:
    """Faults from SPEC strings; a bad one is a UsageError that names it and shows the syntax."""
    found: dict[str, Any] = {"statuses": []}
    for spec in specs:
        text = spec.strip()
        if match := _LATENCY.fullmatch(text):
            low = _seconds(match.group(1), match.group(2))
            high = _seconds(match.group(3), match.group(4)) if match.group(3) else low
            if high < low or high > 60:
                raise _bad(spec, "the range must be low..high, at most 60 s")
            found["latency"] = (low, high)
        elif match := _STATUS.fullmatch(text):
            code = int(match.group(1))
            if code not in FAULT_STATUSES:
                raise _bad(spec, f"the status must be one of {', '.join(map(str, FAULT_STATUSES))}")
            found["statuses"].append((code, _rate(spec, match.group(2))))
        elif match := _SIMPLE.fullmatch(text):
            found[match.group(1)] = _rate(spec, match.group(2))
        elif text == "prefer":
            found["prefer"] = True
        elif match := _SEED.fullmatch(text):
            found["seed"] = int(match.group(1))
        else:
            raise _bad(spec, "not a fault")
    found["statuses"] = tuple(found["statuses"])
    return Faults(**found)


def _seconds(number: str, unit: str) -> float:
    return float(number) / (1000 if unit == "ms" else 1)


def _rate(spec: str, text: str) -> float:
    rate = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not 0 < rate <= 1:
        raise _bad(spec, "the rate must be in (0, 1], e.g. 0.2 or 20%")
    return rate


def _bad(spec: str, why: str) -> UsageError:
    return UsageError(f"--fault {spec!r}: {why}; expected one of: {SPEC_HELP}")


class Dice:
    """The fault decisions of one server; seeded, the same requests in the same order get the same faults."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    async def delay(self) -> None:
        if self.faults.latency:
            low, high = self.faults.latency
            await asyncio.sleep(low if low == high else self._random.uniform(low, high))

    def forced_status(self) -> int | None:
        for code, rate in self.faults.statuses:
            if self.roll(rate):
                return code
        return None


def prefer_code(value: bytes) -> int | None:
    """The N of ``Prefer: code=N`` (among other preferences), or -1 if code= is present but not a number."""
    for part in re.split(rb"[,;]", value):
        name, _, arg = part.strip().partition(b"=")
        if name.strip().lower() == b"code":
            arg = arg.strip().strip(b'"')
            return int(arg) if arg.isdigit() and len(arg) == 3 else -1
    return None


def malformed(body: bytes) -> bytes:
    """Something that is not JSON: the body cut before its end (or a lone ``{`` for an empty body)."""
    return body[: max(1, len(body) // 2)] if len(body) > 1 else b"{"


async def close_connection(send: Any) -> None:
    """Abort the connection under the current request.

    ASGI has no message for this, so the transport is taken from uvicorn's request cycle (``send`` is its
    bound method: :func:`conformance._seams.uvicorn.cycle_of`). The loop is then given two turns so that
    uvicorn sees the disconnect before the application returns and does not answer 500 or log an error
    itself.
    """
    cycle = uvicorn_seam.cycle_of(send)
    if cycle is not None:
        cycle.transport.close()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
