"""The app under test, two ways: in this process through ``httpx.ASGITransport`` (contracts: what the
app answers), or under uvicorn over real HTTP (where the real server is the point: browsers,
Schemathesis's own client, a URL to hand out). Both are reached through ``client()``."""

from __future__ import annotations

import logging
import socket
import threading
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal

from chainmatch.settings import Settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ErrorLog(logging.Handler):
    """Keeps the server's error records (with tracebacks), so a failing test can show them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Server(Protocol):
    """What a test needs of a running app, however it is served."""

    settings: Settings

    def client(self, key: str | None = None, **options: Any) -> httpx.Client: ...

    def error_log(self) -> str: ...


class LiveServer:
    """The real app under uvicorn in a background thread, reached over real HTTP."""

    def __init__(self, settings: Settings) -> None:
        from api.main import create_app

        self.settings = settings
        self.errors = ErrorLog()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        logging.getLogger().addHandler(self.errors)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        logging.getLogger().removeHandler(self.errors)

    def error_log(self) -> str:
        """What the server logged at ERROR or above so far (tracebacks included)."""
        return "\n".join(self.errors.lines)

    def client(self, key: str | None = None, **options: Any) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, **{"timeout": 60, **options})


class _LoggedApp:
    """Logs what escapes the app, as uvicorn does, so ``error_log()`` reads the same in process."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            log.exception("Exception in ASGI application")
            raise


class _PortalTransport(httpx.BaseTransport):
    """A synchronous transport onto ``httpx.ASGITransport``: each request runs in the server's
    event loop (an anyio blocking portal), so sync tests and threads can call the async app."""

    def __init__(self, portal: BlockingPortal, app: ASGIApp) -> None:
        self.portal = portal
        # a 500 for an exception that escapes the app, as a real server answers (and _LoggedApp logs)
        self.asgi = httpx.ASGITransport(app=_LoggedApp(app), raise_app_exceptions=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # a generator body becomes bytes, which ASGITransport can stream
        return self.portal.call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self.asgi.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(body))


class InProcessServer:
    """The real app in this process, reached through ``httpx.ASGITransport``: no socket and no
    uvicorn. Its lifespan (database, index) runs once, on entry, in the portal's event loop."""

    def __init__(self, settings: Settings) -> None:
        from api.main import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.errors = ErrorLog()
        self._stack = ExitStack()
        self._portal: BlockingPortal | None = None

    def __enter__(self) -> InProcessServer:
        logging.getLogger().addHandler(self.errors)
        self._stack.callback(logging.getLogger().removeHandler, self.errors)
        try:
            self._portal = self._stack.enter_context(start_blocking_portal())
            lifespan = self.app.router.lifespan_context(self.app)
            self._stack.enter_context(self._portal.wrap_async_context_manager(lifespan))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stack.close()

    def error_log(self) -> str:
        """What the app logged at ERROR or above so far (tracebacks included)."""
        return "\n".join(self.errors.lines)

    def client(self, key: str | None = None, **options: Any) -> httpx.Client:
        assert self._portal is not None, "enter the server first"
        headers = {"X-API-Key": key} if key else {}
        transport = _PortalTransport(self._portal, self.app)
        return httpx.Client(
            transport=transport, base_url="http://testserver", headers=headers, **{"timeout": 60, **options}
        )
