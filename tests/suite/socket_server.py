"""The model on uvicorn over a real loopback socket, for what the in-process ASGI transport cannot show:
requests that reach the server together. httpx's ASGI transport runs each request to completion in the
caller's event loop, so nothing there can race; a socket and a server with its own loop can.
"""

from __future__ import annotations

from typing import Any

import uvicorn

from conformance.server.background import BackgroundServer, answer_lifespan, uvicorn_config

from .model import Model


class ModelServer(BackgroundServer):
    """``with ModelServer(model) as server:`` serves ``model`` at ``server.base_url`` (ephemeral port)."""

    thread_name = "oms-model"

    def __init__(self, model: Model) -> None:
        self.model = model

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":  # the model speaks HTTP only
                await answer_lifespan(receive, send)
            else:
                await model(scope, receive, send)

        super().__init__(app)

    def config(self) -> uvicorn.Config:
        return uvicorn_config(self.app)
