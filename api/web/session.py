"""The dashboard's session cookie as the API sees it: shared by the dashboard's pages and by
``api.deps.get_principal``, which accepts the cookie in place of an API key.

The cookie (``cm_session``: HttpOnly, SameSite=Strict, Path=/, Secure when
``CHAINMATCH_COOKIE_SECURE`` is set) holds an opaque token, never the key. A cookie-authenticated
request that changes anything must also present the session's CSRF token: dashboard forms as the
``csrf`` field, the dashboard's script as the ``X-CSRF-Token`` header (read from the page's
``<meta name="csrf-token">``). SameSite=Strict already keeps other sites' requests out; the token is
defence in depth.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, status
from sqlalchemy.engine import Engine

from chainmatch.websessions import WebSession, find_session

SESSION_COOKIE = "cm_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_MISMATCH = "页面已过期，请刷新后重试 (CSRF token mismatch)"


def cookie_session(request: Request, db: Engine) -> WebSession | None:
    """The live session of the request's cookie, looked up once per request."""
    if not hasattr(request.state, "web_session"):
        request.state.web_session = find_session(db, request.cookies.get(SESSION_COOKIE))
    found: WebSession | None = request.state.web_session
    return found


def check_csrf(web: WebSession, token: str | None) -> None:
    """403 unless ``token`` is the session's CSRF token."""
    if not token or not hmac.compare_digest(token.encode(), web.csrf.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, CSRF_MISMATCH)


def check_csrf_header(request: Request, web: WebSession) -> None:
    """A cookie-authenticated unsafe method needs the session's token in ``X-CSRF-Token``."""
    if request.method not in SAFE_METHODS:
        check_csrf(web, request.headers.get(CSRF_HEADER))
