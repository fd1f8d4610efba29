"""Login and logout. The user pastes an API key once; the server checks it and opens a session
(``chainmatch.websessions``) whose opaque token goes into the ``cm_session`` cookie — never the key.
Logout, expiry (``CHAINMATCH_SESSION_HOURS``) and revoking the key end the session at once. The
login form carries a double-submit token (a cookie scoped to ``/login`` and the same value in the
form), since there is no session yet whose token it could carry."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import DbDep, SettingsDep
from api.web.common import UserDep, check_csrf, page, safe_next
from api.web.session import SESSION_COOKIE
from chainmatch.websessions import close_session, log_in

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

LOGIN_COOKIE = "cm_login"


def _login_page(secure: bool, next_url: str, error: str | None = None, code: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page("login.html", code, csrf=token, next=next_url, error=error, user=None, flash=None)
    response.set_cookie(
        LOGIN_COOKIE, token, max_age=1800, httponly=True, samesite="strict", secure=secure, path="/login"
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    settings: SettingsDep, next: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return _login_page(settings.cookie_secure, safe_next(next))


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not csrf or not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        return _login_page(
            settings.cookie_secure, safe_next(next), "登录页已过期，请重试 (login form expired)", 400
        )
    opened = log_in(db, api_key, settings.session_hours)
    if opened is None:
        return _login_page(
            settings.cookie_secure, safe_next(next), "API 密钥无效或已吊销 (invalid or revoked key)", 401
        )
    token, principal = opened
    logger.info("dashboard login: key %s (%s)", principal.key_id, principal.role.value)
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, db: DbDep, user: UserDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    check_csrf(user, csrf)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        close_session(db, token)
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
