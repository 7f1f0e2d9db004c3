"""Hypothesis: drawing without the process's "local constants", in the calling thread only.

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
    """The internals :func:`seed_only` relies on are where and what it expects, or :class:`SeamChanged`."""
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


def _cache_is_per_thread(cache: Any) -> bool:
    mine = cache.cache
    seen: list[Any] = []
    worker = threading.Thread(target=lambda: seen.append(cache.cache))
    worker.start()
    worker.join()
    return bool(seen) and seen[0] is not mine
