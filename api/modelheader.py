"""``X-ChainMatch-Model`` on every API answer: the ranking model that answers (the offline ranker's
version and, when the deployment has refreshed it from its outcomes, the refresh's), so any answer —
``/v1/match``, recommendations, reports, matchmaking — can be traced to the model behind it. Bodies of
the two-sided answers carry the same string as ``model_version``."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chainmatch.refresh import store_for
from chainmatch.settings import Settings

HEADER = b"x-chainmatch-model"


class ModelHeader:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.store = store_for(settings.data_dir, settings.ranker_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/v1/"):
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((HEADER, self.store.version().encode("ascii", "replace")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_header)
