"""uvicorn: the httptools protocol the reference server and the proxy extend.

Why private: ASGI has no hooks for what the serving layer adds - bounds on slow or stalled connections
(:mod:`conformance.server.connections`) and recording requests uvicorn's parser refuses
(:mod:`conformance.proxy.http_layer`) - so both subclass ``HttpToolsProtocol`` and read where a request
stands from its state (``scope``, ``cycle``, ``pipeline``, ``flow``, the cycle's ``more_body`` /
``response_started`` / ``response_complete`` / ``disconnected`` / ``message_event`` / ``transport``).
``connections.py`` also replaces ``on_response_complete`` (uvicorn's own, less the keep-alive timer), so a
change to uvicorn's version of it must be looked at: :data:`ON_RESPONSE_COMPLETE` holds the fingerprints of
the versions the copy was checked against, and ``tests/unit/test_seams.py`` fails on any other.

This module is the only one that imports uvicorn's protocol internals; :func:`check` runs once before a
server starts and raises :class:`~conformance._seams.SeamChanged` when an attribute or method used is gone.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import textwrap
from typing import Any

from uvicorn.protocols.http import h11_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from conformance._seams import SeamChanged

__all__ = ["ON_RESPONSE_COMPLETE", "HttpToolsProtocol", "check", "cycle_of", "fingerprint", "start_pipelined"]

# uvicorn's HttpToolsProtocol.on_response_complete, by fingerprint (see fingerprint()): the variants the
# copy in connections.py was compared with. The only difference between them is how the next pipelined
# request's task is started (start_pipelined does it the way the installed version does).
ON_RESPONSE_COMPLETE = {
    "3758f7ff83ac52ea": "0.34: the task started inline",
    "8a769d10c29642ff": "0.55: the task started by _start_asgi_task",
}

# What the subclasses read or call, by where uvicorn sets or defines it.
_PROTOCOL_STATE = ("scope", "cycle", "pipeline", "connections", "server_state", "loop", "tasks")
_CONNECTION_STATE = ("transport", "flow")
_CYCLE_STATE = (
    "scope",
    "transport",
    "flow",
    "more_body",
    "response_started",
    "response_complete",
    "disconnected",
    "message_event",
)
_PROTOCOL_METHODS = (
    "connection_made",
    "data_received",
    "on_headers_complete",
    "on_message_complete",
    "on_response_complete",
    "send_400_response",
)


def start_pipelined(protocol: HttpToolsProtocol, cycle: Any, app: Any) -> None:
    """Start the ASGI task of a pipelined request as the installed uvicorn's ``on_response_complete`` does."""
    starter = getattr(type(protocol), "_start_asgi_task", None)
    if starter is not None:  # later versions: one method (it also honours reset_contextvars)
        starter(protocol, cycle, app)
        return
    task = protocol.loop.create_task(cycle.run_asgi(app))  # earlier: inline, exactly as here
    task.add_done_callback(protocol.tasks.discard)
    protocol.tasks.add(task)


def cycle_of(asgi_callable: Any) -> Any | None:
    """The uvicorn request cycle whose bound method an ASGI ``send`` or ``receive`` is (it has the
    connection's ``transport`` and knows whether the client ``disconnected``: ASGI has no message for
    either); None when something else serves the app - another ASGI server, a test calling it directly."""
    owner = getattr(asgi_callable, "__self__", None)
    return owner if isinstance(owner, RequestResponseCycle | h11_impl.RequestResponseCycle) else None


def fingerprint(function: Any) -> str:
    """A function's code, comments and formatting aside: 16 hex digits of its AST's dump."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16]


def _assigned(function: Any) -> set[str]:
    """The ``self.<name>`` attributes ``function`` assigns."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {
        target.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    }


@functools.cache
def checked() -> None:
    """:func:`check`, once a process (servers call it before they start)."""
    check()


def check() -> None:
    """What the subclasses rely on is still there, or :class:`SeamChanged`."""
    missing = [name for name in _PROTOCOL_METHODS if not callable(getattr(HttpToolsProtocol, name, None))]
    if missing:
        raise SeamChanged("uvicorn", f"HttpToolsProtocol has no {', '.join(missing)}")
    try:
        protocol_state = _assigned(HttpToolsProtocol.__init__)
        connection_state = _assigned(HttpToolsProtocol.connection_made)
        cycle_state = _assigned(RequestResponseCycle.__init__) & _assigned(
            h11_impl.RequestResponseCycle.__init__
        )
        refuses = inspect.getsource(HttpToolsProtocol.data_received)
    except (OSError, TypeError, SyntaxError) as exc:
        raise SeamChanged("uvicorn", f"its protocol's source cannot be read ({exc})") from exc
    gone = [f"HttpToolsProtocol.{n}" for n in _PROTOCOL_STATE if n not in protocol_state]
    gone += [f"HttpToolsProtocol.{n}" for n in _CONNECTION_STATE if n not in connection_state]
    gone += [f"RequestResponseCycle.{n}" for n in _CYCLE_STATE if n not in cycle_state]
    if gone:
        raise SeamChanged("uvicorn", f"no longer set: {', '.join(gone)}")
    if "self.send_400_response(" not in refuses:
        raise SeamChanged("uvicorn", "data_received no longer refuses a bad request with send_400_response")
