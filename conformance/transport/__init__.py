"""The transport layer, below both the checks and the runner: one bounded HTTP client whose answers carry a
typed outcome, and the safety guard that decides which requests may be sent to a real account at all."""

import sys

# httpx imports its own command line client when it is imported (``httpx._main``, for ``httpx.main``), and
# with it rich and pygments whenever they are installed (Schemathesis brings both): half of what importing
# httpx costs, paid when a request first goes through httpx (transports.py; the proxy and the tests import it
# at once). Nothing of ours runs httpx's command line, so unless
# httpx is already imported its CLI module is marked absent; httpx then defines a ``main`` that says its CLI
# is unavailable. Measured in tests/benchmarks/bench_start.py.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
