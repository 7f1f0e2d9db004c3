"""Hypothesis: drawing without the process's "local constants", in the calling thread only; UTF-8's table
given, not scanned for.

Why: Hypothesis (>= 6.13x) mixes string and number literals found in the *local* modules loaded in the
process (every module outside site-packages - with an editable install all of ``conformance``, and the
``oms-conformance`` script itself) into what it draws. A seed's cases would then depend on which modules
happened to be imported and on the text of the tool's own source, and a worker process would draw other
cases than the run. Hypothesis has no public switch for it (no setting, no environment variable), so
:func:`seed_only` routes the one private function that collects them,
``hypothesis.internal.conjecture.providers._get_local_constants``, to an empty pool - for the threads inside
:func:`seed_only` and no other. Any other thread (a user's own Hypothesis tests in the same process, say)
still gets the real function's answer; once the last thread leaves, the original function is put back.

The filtered pools Hypothesis caches (``providers.CONSTANTS_CACHE``) are per thread already (its
``LRUCache`` keeps a ``threading.local``): clearing it on entry and exit touches this thread's pools only.

And a shortcut, :func:`known_utf8_table`: Hypothesis answers ``characters(codec="utf-8")`` (which
Schemathesis's strategies and the fuzz check's own alphabet ask for) by encoding and decoding every one of
the 1,114,112 code points, ~1.2 s of CPU, then caches the table in its storage directory. A machine that
never ran the tool - a fresh CI container, so every nightly job in one - paid that in every process that
draws: +0.6 s on the default run's wall, +0.7 s on a deep fuzz's. UTF-8's answer is known (RFC 3629: every
code point but the surrogates, each decoding back to itself), so :func:`known_utf8_table` gives it without
the scan: the same value, for every caller in the process; any other codec is still Hypothesis's to scan.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Any

from conformance._seams import SeamChanged

_lock = threading.Lock()
_inside = threading.local()  # .depth: how deep this thread is in seed_only()
_original: Callable[[], Any] | None = None  # providers._get_local_constants while ours is installed
_threads_inside = 0


# RFC 3629 section 3: UTF-8 encodes U+0000..U+10FFFF except the surrogates U+D800..U+DFFF, and decodes each
# encoding back to its code point (what Hypothesis's scan finds; tests/unit/test_seams.py compares the two).
UTF8_ENCODABLE = ((0, 0xD7FF), (0xE000, 0x10FFFF))


def _providers() -> Any:
    from hypothesis.internal.conjecture import providers

    return providers


def _empty_pool() -> Any:
    from hypothesis.internal.constants_ast import Constants

    return Constants()


def _per_thread(original: Callable[[], Any], empty: Any) -> Callable[[], Any]:
    def get_local_constants() -> Any:
        return empty if getattr(_inside, "depth", 0) else original()

    get_local_constants.oms_conformance_seam = True  # type: ignore[attr-defined]
    return get_local_constants


@contextlib.contextmanager
def seed_only() -> Iterator[None]:
    """While inside, Hypothesis draws in this thread see no local constants: the seed alone decides."""
    _checked()
    providers = _providers()
    global _original, _threads_inside
    with _lock:
        if _threads_inside == 0:
            _original = providers._get_local_constants
            providers._get_local_constants = _per_thread(_original, _empty_pool())
        _threads_inside += 1
    _inside.depth = getattr(_inside, "depth", 0) + 1
    providers.CONSTANTS_CACHE.cache.clear()  # this thread's pools, filtered with local constants in them
    try:
        yield
    finally:
        _inside.depth -= 1
        providers.CONSTANTS_CACHE.cache.clear()
        with _lock:
            _threads_inside -= 1
            if _threads_inside == 0:
                if getattr(providers._get_local_constants, "oms_conformance_seam", False):
                    providers._get_local_constants = _original
                _original = None


@functools.cache
def _checked() -> None:
    check()  # once a process: the internals do not move while it runs


def check() -> None:
    """The internals :func:`seed_only` and :func:`known_utf8_table` rely on are where and what they expect,
    or :class:`SeamChanged`."""
    try:
        providers = _providers()
        function = providers._get_local_constants
        provider = providers.HypothesisProvider
        reads_pool = inspect.getsource(provider.__dict__["_local_constants"].func)
        draws = inspect.getsource(provider._maybe_draw_constant)
        cache = providers.CONSTANTS_CACHE
        pool = _empty_pool()
        pool.set_for_type("string")
    except (ImportError, AttributeError, KeyError, TypeError, OSError) as exc:
        raise SeamChanged("hypothesis", f"the local-constants internals moved ({exc})") from exc
    if not callable(function) or inspect.signature(function).parameters:
        raise SeamChanged("hypothesis", "providers._get_local_constants is no longer a function of nothing")
    if "_get_local_constants()" not in reads_pool or "CONSTANTS_CACHE" not in draws:
        raise SeamChanged(
            "hypothesis", "HypothesisProvider no longer reads local constants through _get_local_constants"
        )
    if not _cache_is_per_thread(cache):
        raise SeamChanged("hypothesis", "providers.CONSTANTS_CACHE is shared between threads")
    _codec_table_shape()


def _cache_is_per_thread(cache: Any) -> bool:
    mine = cache.cache
    seen: list[Any] = []
    worker = threading.Thread(target=lambda: seen.append(cache.cache))
    worker.start()
    worker.join()
    return bool(seen) and seen[0] is not mine


@functools.cache
def known_utf8_table() -> None:
    """From now on, in this process, Hypothesis's table of the characters UTF-8 can encode is given, not
    scanned for (module docstring). Once a process; any other codec is left to Hypothesis."""
    _checked()
    from hypothesis.internal import charmap
    from hypothesis.internal.intervalsets import IntervalSet

    scan = charmap.intervals_from_codec
    encodable = IntervalSet(UTF8_ENCODABLE)
    # (encodable, encodable but not decoding back) in Hypothesis 6.170; the encodable set alone in 6.150.
    table = (encodable, IntervalSet()) if _codec_table_shape() == "pair" else encodable

    def intervals_from_codec(codec_name: str) -> Any:
        return table if codec_name == "utf-8" else scan(codec_name)

    intervals_from_codec.oms_conformance_seam = True  # type: ignore[attr-defined]
    charmap.intervals_from_codec = intervals_from_codec  # type: ignore[assignment]


# How characters(codec=...) takes the table, by the line that asks for it: "pair" or "set".
_ASKS = {
    "encodable, non_roundtrip = charmap.intervals_from_codec(codec)": "pair",
    "intervals &= charmap.intervals_from_codec(codec)": "set",
}


def _codec_table_shape() -> str:
    """What characters(codec=...) expects of the table known_utf8_table gives, or SeamChanged."""
    try:
        from hypothesis.internal import charmap
        from hypothesis.internal.intervalsets import IntervalSet
        from hypothesis.strategies._internal.strings import OneCharStringStrategy

        asks = inspect.getsource(OneCharStringStrategy.from_characters_args)
        parameters = list(inspect.signature(charmap.intervals_from_codec).parameters)
        IntervalSet(UTF8_ENCODABLE)
    except (ImportError, AttributeError, TypeError, OSError) as exc:
        raise SeamChanged("hypothesis", f"the codec table internals moved ({exc})") from exc
    shapes = {shape for line, shape in _ASKS.items() if line in asks}
    if parameters != ["codec_name"] or len(shapes) != 1:
        raise SeamChanged(
            "hypothesis",
            "characters(codec=...) no longer asks charmap.intervals_from_codec(codec) for its table "
            "in a way this release knows",
        )
    return shapes.pop()
