"""The pace arithmetic (transport/pace.py) with a fake clock: no sleeping, no sockets."""

from __future__ import annotations

import asyncio

import pytest

from conformance.transport.pace import (
    BASE_WAIT_S,
    MAX_WAIT_S,
    MIN_RATE,
    Pacer,
    TokenBucket,
    retry_after_seconds,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_spaces_requests_evenly_after_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=1.0, clock=clock)
    assert bucket.take() == 0.0  # the first is due at once
    # Callers arriving together queue up 1/rate apart, in the order they asked.
    assert [round(bucket.take(), 6) for _ in range(3)] == [0.1, 0.2, 0.3]


def test_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, burst=2.0, clock=clock)
    assert (bucket.take(), bucket.take()) == (0.0, 0.0)
    assert bucket.take() == pytest.approx(0.25)
    clock.now += 10  # idle for long: never more than the burst
    assert (bucket.take(), bucket.take()) == (0.0, 0.0)
    assert bucket.take() == pytest.approx(0.25)


def test_bucket_rate_change_keeps_tokens_earned_at_the_old_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=5.0, clock=clock)
    for _ in range(5):
        bucket.take()
    clock.now += 0.2  # 2 tokens at 10/s
    bucket.set_rate(1.0)
    assert (bucket.take(), bucket.take()) == (0.0, 0.0)
    assert bucket.take() == pytest.approx(1.0)  # the next at the new rate


def test_a_limited_pacer_sends_n_requests_in_n_minus_one_intervals() -> None:
    clock = FakeClock()
    pacer = Pacer(40.0, clock=clock, sleep=clock.sleep)

    async def send(n: int) -> None:
        for _ in range(n):
            await pacer.reserve()
            pacer.answered()

    start = clock.now
    asyncio.run(send(41))
    assert clock.now - start == pytest.approx(1.0)  # 40 intervals of 1/40 s: the rate, never faster
    assert pacer.requests == 41


def test_an_unlimited_pacer_never_waits() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    asyncio.run(pacer.reserve())
    assert clock.slept == [] and pacer.rate is None


def _send_at(pacer: Pacer, clock: FakeClock, rate: float, n: int) -> None:
    for _ in range(n):
        asyncio.run(pacer.reserve())
        clock.now += 1 / rate


def test_a_429_without_retry_after_halves_the_observed_rate_and_pauses_everyone() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    _send_at(pacer, clock, 100.0, 10)  # unlimited, observed at 100/s
    wait = pacer.throttled("PUT", "http://x/stop", None, attempt=1, sent_at=clock.now)
    assert pacer.rate == pytest.approx(50.0)
    assert wait == BASE_WAIT_S  # 1/50 s is shorter than the base pause
    asyncio.run(pacer.reserve())  # any sender now waits out the pause
    assert sum(clock.slept) >= BASE_WAIT_S
    # A second 429 for the same request waits twice as long.
    assert pacer.throttled("PUT", "u", None, attempt=2, sent_at=clock.now) == pytest.approx(2 * BASE_WAIT_S)
    assert [t.retry_after for t in pacer.throttled_log] == [None, None]
    lowest = pacer.used(4).lowest_rate
    assert lowest is not None and lowest <= 25.0  # halved again


def test_retry_after_is_waited_as_asked_capped() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock, sleep=clock.sleep)
    assert pacer.throttled("PUT", "u", "2", attempt=1, sent_at=clock.now) == 2.0
    assert pacer.throttled("PUT", "u", "3600", attempt=1, sent_at=clock.now) == MAX_WAIT_S
    assert [t.retry_after for t in pacer.throttled_log] == ["2", "3600"]
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None  # a date: adaptive instead


def test_requests_in_flight_at_a_halving_do_not_halve_again() -> None:
    clock = FakeClock()
    pacer = Pacer(40.0, clock=clock, sleep=clock.sleep)
    in_flight_since = clock.now
    clock.now += 0.01
    pacer.throttled("PUT", "u", None, attempt=1, sent_at=in_flight_since)
    after_first = pacer.rate
    for _ in range(7):  # seven more answers of the same round of concurrent requests
        pacer.throttled("PUT", "u", None, attempt=1, sent_at=in_flight_since)
    assert pacer.rate == after_first
    assert len(pacer.throttled_log) == 8  # every one is recorded


def test_success_creeps_back_up_to_the_limit_and_never_above() -> None:
    clock = FakeClock()
    pacer = Pacer(20.0, clock=clock, sleep=clock.sleep)
    pacer.throttled("PUT", "u", "0", attempt=1, sent_at=clock.now)
    assert pacer.rate == pytest.approx(10.0)
    rates: list[float] = []
    for _ in range(2000):
        clock.now += 0.01
        pacer.answered()
        assert pacer.rate is not None  # a rate limit was set: the pacer always has a rate
        rates.append(pacer.rate)
    assert rates == sorted(rates)  # additive increase only
    assert rates[-1] == 20.0


def test_the_back_off_never_goes_below_its_floor() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        clock.now += 10
        pacer.throttled("PUT", "u", "0", attempt=1, sent_at=clock.now)
    assert pacer.rate == MIN_RATE


def test_unlimited_runs_become_unlimited_again_after_recovering() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    _send_at(pacer, clock, 10.0, 10)
    pacer.throttled("PUT", "u", "0", attempt=1, sent_at=clock.now)
    assert pacer.rate == pytest.approx(5.0)
    for _ in range(10_000):
        clock.now += 0.01
        pacer.answered()
        if pacer.rate is None:
            break
    assert pacer.rate is None


def test_a_block_of_requests_waits_for_the_whole_block_goes_out_at_once_and_is_paid_after_too() -> None:
    clock = FakeClock()
    pacer = Pacer(40.0, clock=clock, sleep=clock.sleep)
    sent_at = asyncio.run(pacer.reserve_many(16))
    assert clock.slept == [pytest.approx(15 / 40)]  # 16 requests' worth of the rate, less the one in hand
    assert sent_at == clock.now and pacer.requests == 16
    # ... and the next request waits as long again: a gateway's one-second window that starts with the
    # block (another lane's requests may follow a race at once) holds no more than the rate's worth.
    asyncio.run(pacer.reserve())
    assert clock.slept[-1] == pytest.approx(16 / 40)


def test_an_unlimited_block_never_waits() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    asyncio.run(pacer.reserve_many(16))
    assert clock.slept == [] and pacer.requests == 16
