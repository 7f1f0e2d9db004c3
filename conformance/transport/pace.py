"""As fast as the target allows and never faster: a token bucket over every request, and back-off on 429.

Why it lives in the transport: every request of a run - the preflight, the credential preflight, every
check, concurrent ones included - goes through :meth:`Client.send`, so pacing there cannot be bypassed by a
check that forgets it. Code that writes to sockets itself - the race of released requests
(transport/race.py) - reserves its requests as one block with :meth:`Pacer.reserve_many` before it opens a
connection, and reports each answer with :meth:`Pacer.answered` / :meth:`Pacer.throttled`: that is the
whole contract. A block of n waits until n requests' worth of the rate is free, goes out at once, and
the requests after it wait as long again: a window of a gateway's count that holds the block holds no more
than the rate's worth, whether the block is at its end or its start (another check's requests follow a
race at once when checks run side by side, runner/lanes.py); within the block it is a burst, which is what
a race is.

Throttling (429) is waited out here and the request sent again - a 429 means the gateway did not pass the
request on, so repeating it is safe even for a stop of a listed group. A real gateway (Huawei APIGW answers
``APIGW.0308``) often sends no ``Retry-After``, so the back-off is adaptive, AIMD as in TCP congestion
control: a 429 halves the allowed rate (from the rate actually observed, so a run that never set
``--rate-limit`` gets a limit too) and pauses all sending for a while; every answer that is not a 429 lets
the rate creep up again, by ``INCREASE_PER_S`` requests per second per second of success, never above
``--rate-limit``. With ``Retry-After`` the pause is what the server asked (capped at ``MAX_WAIT_S``), as
the 429 loop before this module did.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from conformance.results import PaceUsed, Throttled

MAX_429_RETRIES = 3  # then the 429 is the answer, judged like any other
MAX_WAIT_S = 5.0  # the longest pause one 429 causes
MIN_RATE = 0.5  # requests/s: the back-off never goes slower than this
INCREASE_PER_S = 2.0  # additive increase: requests/s gained per second of answers that were not 429
BASE_WAIT_S = 0.25  # the pause after a 429 without Retry-After (doubled for each further 429 of a request)
RECENT = 32  # send times kept to measure the rate actually used


class TokenBucket:
    """Reservations against a rate: :meth:`take` says how long the caller must wait before it may send.

    The bucket holds at most ``burst`` tokens (1 by default: requests are spaced evenly, which a gateway
    counting per second or per token bucket both accept). Tokens may go negative: callers that arrive
    together are queued 1/rate apart in the order they asked, so concurrent senders cannot burst past it.
    """

    def __init__(self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self) -> float:
        """Reserve one token; the seconds to wait until it is due (0 when one is there)."""
        self._refill()
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def set_rate(self, rate: float) -> None:
        self._refill()  # tokens earned so far were earned at the old rate
        self.rate = rate


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds; None when absent or not a number of seconds (an HTTP date is ignored)."""
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


class Pacer:
    """The pace of one run: the configured limit, the adaptive rate, and every 429 seen."""

    def __init__(
        self,
        rate_limit: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate_limit = rate_limit
        self.clock = clock
        self.sleep = sleep
        self.bucket = TokenBucket(rate_limit, clock=clock) if rate_limit else None
        self.started = clock()
        self.requests = 0
        self.throttled_log: list[Throttled] = []
        self.lowest_rate: float | None = None
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._resume_at = 0.0  # nothing is sent before this (a 429's pause applies to every sender)
        self._last_decrease = float("-inf")
        self._before_first_429 = float("inf")  # the rate observed when unlimited sending met its first 429

    @property
    def rate(self) -> float | None:
        """The rate allowed now (requests/s); None while unlimited."""
        return self.bucket.rate if self.bucket else None

    async def reserve(self) -> float:
        """Wait until one more request may be sent; returns the time it is sent at (for :meth:`throttled`)."""
        return await self.reserve_many(1)

    async def reserve_many(self, count: int) -> float:
        """Wait until ``count`` requests may be sent together (see the module docstring); returns the time
        they are sent at."""
        while True:
            pause = self._resume_at - self.clock()
            if pause <= 0:
                break
            await self.sleep(pause)
        if self.bucket is not None:
            delay = max(self.bucket.take() for _ in range(count)) if count else 0.0
            if delay > 0:
                await self.sleep(delay)
            for _ in range(count - 1):
                self.bucket.take()  # ... and what follows the block waits as long again (see above)
        now = self.clock()
        self._recent.extend([now] * count)
        self.requests += count
        return now

    def answered(self) -> None:
        """An answer that was not a 429: creep back up (additive increase)."""
        if self.bucket is None or self.clock() < self._resume_at:
            return
        ceiling = self.rate_limit or float("inf")
        raised = min(ceiling, self.bucket.rate + INCREASE_PER_S / self.bucket.rate)
        if self.rate_limit is None and raised >= 2 * self._before_first_429:
            self.bucket = None  # back to unlimited; the next 429 measures the rate afresh
            return
        self.bucket.set_rate(raised)

    def throttled(
        self, method: str, url: str, retry_after: str | None, attempt: int, sent_at: float
    ) -> float:
        """A 429 to a request sent at ``sent_at`` (its ``attempt``-th in a row): record it, slow down, and
        return how long to pause before sending it again."""
        now = self.clock()
        # Requests already in flight at the last decrease answered under the old rate: one halving each.
        if sent_at >= self._last_decrease:
            self._decrease(now)
        asked = retry_after_seconds(retry_after)
        if asked is not None:
            wait = min(asked, MAX_WAIT_S)
        else:
            rate = self.bucket.rate if self.bucket else MIN_RATE
            wait = min(MAX_WAIT_S, max(1 / rate, BASE_WAIT_S) * 2 ** (attempt - 1))
        self._resume_at = max(self._resume_at, now + wait)
        self.throttled_log.append(
            Throttled(
                at_s=round(now - self.started, 3),
                method=method,
                url=url,
                retry_after=retry_after,
                waited_s=round(wait, 3),
                rate_after=round(self.bucket.rate, 3) if self.bucket else None,
            )
        )
        return wait

    def _decrease(self, now: float) -> None:
        observed = self._observed_rate()
        if self.bucket is None:
            self._before_first_429 = observed
            self.bucket = TokenBucket(max(MIN_RATE, observed / 2), clock=self.clock)
        else:
            self.bucket.set_rate(max(MIN_RATE, min(self.bucket.rate, observed) / 2))
        self._last_decrease = now
        self.lowest_rate = min(self.lowest_rate or float("inf"), self.bucket.rate)

    def _observed_rate(self) -> float:
        """Requests per second over the recent sends; generous when too few to tell."""
        if len(self._recent) < 2 or self._recent[-1] <= self._recent[0]:
            return self.bucket.rate if self.bucket else 2 * MIN_RATE * RECENT
        return (len(self._recent) - 1) / (self._recent[-1] - self._recent[0])

    def used(self, concurrency: int, requests: int | None = None) -> PaceUsed:
        """What the report says about the pace; ``requests``: the run's count of exchanges, when the
        caller keeps it (the one number every report shows), else the requests paced here."""
        return PaceUsed(
            rate_limit=self.rate_limit,
            concurrency=concurrency,
            requests=self.requests if requests is None else requests,
            lowest_rate=round(self.lowest_rate, 3) if self.lowest_rate is not None else None,
            final_rate=round(self.bucket.rate, 3) if self.bucket else None,
            throttled=list(self.throttled_log),
        )
