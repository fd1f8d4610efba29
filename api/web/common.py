"""What every dashboard page shares: the templates, the signed-in user, CSRF on forms, status
messages carried across a redirect, and the error page for domain errors.

What each role sees is what the API lets it see: the user's principal is the same object an API key
yields (``chainmatch.websessions``), so bureaus see their region, admin any region, leaders only their
own gap lists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment
from pydantic import ValidationError

from api.deps import DbDep, IndexDep, RateLimiterDep, SettingsDep, throttle
from api.web import session as web_session
from chainmatch.audit import route_of
from chainmatch.chains import svg
from chainmatch.chains.outreach import PIPELINE
from chainmatch.errors import ChainMatchError, http_status
from chainmatch.keys import Principal
from chainmatch.labels import template_environment
from chainmatch.services.context import Caller
from chainmatch.websessions import WebSession
from models.apikey import Role
from models.outreach import STAGE_LABELS
from models.regions import PROVINCES
from recommender.corpus import Region

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ROLE_LABELS = {
    Role.ADMIN: "平台管理员",
    Role.BUREAU: "招商局",
    Role.LEADER: "链主企业",
    Role.SUPPLIER: "配套企业",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NEXT_LENGTH = 500  # the longest next= / back= a form takes

RegionQ = Annotated[str | None, Query(max_length=40)]
CityQ = Annotated[str | None, Query(max_length=60)]


# ------------------------------------------------------------------------------- templates
def _environment() -> Environment:
    return template_environment(
        TEMPLATES,
        score_colour=svg.score_colour,
        part_colours=svg.PART_COLOURS,
        stage_labels={s.value: label for s, label in STAGE_LABELS.items()},
        pipeline=[s.value for s in PIPELINE],
        provinces=PROVINCES,
    )


_env = _environment()


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


# ------------------------------------------------------------------------------- the user
@dataclass(frozen=True)
class User:
    """The signed-in dashboard user: the session's principal, its CSRF token and a label."""

    session: WebSession

    @property
    def principal(self) -> Principal:
        return self.session.principal

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def label(self) -> str:
        principal = self.principal
        if principal.role is Role.BUREAU:
            label = f"{ROLE_LABELS[principal.role]} · {principal.province}{principal.city or ''}"
        elif principal.role in (Role.LEADER, Role.SUPPLIER):
            label = f"{ROLE_LABELS[principal.role]} · {self.session.firm_name or principal.firm_id}"
        else:
            label = ROLE_LABELS[principal.role]
        return label + (f"（{self.session.key_label}）" if self.session.key_label else "")

    def can(self, *roles: Role) -> bool:
        return self.principal.role in roles


def _login_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        status.HTTP_303_SEE_OTHER,
        "请先登录 (login required)",
        headers={"Location": f"/login?{urlencode({'next': target})}"},
    )


def current_user(request: Request, db: DbDep, limiter: RateLimiterDep) -> User:
    """The cookie's session (the one ``get_principal`` accepts); without one, off to the login."""
    found = web_session.cookie_session(request, db)
    if found is None:
        raise _login_redirect(request)
    throttle(limiter, found.principal.key_id)
    return User(found)


UserDep = Annotated[User, Depends(current_user)]


def bureau_user(user: UserDep) -> User:
    if not user.can(Role.BUREAU, Role.ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "该页面仅限招商局 (bureaus only)")
    return user


BureauUserDep = Annotated[User, Depends(bureau_user)]


def web_caller(request: Request, user: UserDep, db: DbDep, index: IndexDep, settings: SettingsDep) -> Caller:
    """The signed-in user as a service caller; audit rows name the page's route."""
    return Caller(user.principal, db, index, settings, route=route_of(request.method, request.url.path))


CallerDep = Annotated[Caller, Depends(web_caller)]


def check_csrf(user: User, token: str | None) -> None:
    """A form post must carry the session's CSRF token (``csrf`` field); 403 otherwise."""
    web_session.check_csrf(user.session, token)


# ------------------------------------------------------------------------------- redirects, messages
def safe_next(target: str | None) -> str:
    """Only a path on this site: anything else (another host, ``//host``) goes home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _msg_sig(user: User, msg: str, kind: str) -> str:
    """Status messages are the server's own words: signed with the session's secret CSRF token, so a
    link carrying any other ``?msg=`` (a phishing line) shows nothing."""
    return hmac.new(user.csrf.encode(), f"{kind}\n{msg}".encode(), hashlib.sha256).hexdigest()[:32]


def with_msg(user: User, target: str, msg: str, kind: str = "ok") -> str:
    sep = "&" if "?" in target else "?"
    msg = msg[:300]
    return f"{target}{sep}{urlencode({'msg': msg, 'kind': kind, 'sig': _msg_sig(user, msg, kind)})}"


def redirect(user: User, target: str, msg: str, kind: str = "ok") -> RedirectResponse:
    """Back to ``target`` after a form, with a status message (303: the browser GETs it)."""
    return RedirectResponse(with_msg(user, target, msg, kind), status.HTTP_303_SEE_OTHER)


def region_args(region: Region) -> str:
    return urlencode({k: v for k, v in (("region", region.province), ("city", region.city)) if v})


def _flash(request: Request, user: User) -> dict[str, str] | None:
    msg = request.query_params.get("msg")
    kind = request.query_params.get("kind", "ok")
    sig = request.query_params.get("sig", "")
    if not msg or kind not in ("ok", "error") or not hmac.compare_digest(sig, _msg_sig(user, msg, kind)):
        return None  # only messages the server set for this session are shown
    return {"text": msg, "kind": kind}


def common(request: Request, user: User, **extra: Any) -> dict[str, Any]:
    """The context every page's template needs (``base.html``: user, flash, path)."""
    return {"user": user, "flash": _flash(request, user), "path": request.url.path, **extra}


def error_page(request: Request, user: User, message: str, code: int = 403) -> HTMLResponse:
    return page("error.html", code, **common(request, user, code=code, message=message))


def domain(request: Request, user: User, call: Callable[[], HTMLResponse]) -> HTMLResponse:
    """Render a page; a domain error (unknown chain, region outside the caller's scope …) becomes
    the error page with the error's status."""
    try:
        return call()
    except ChainMatchError as exc:
        return error_page(request, user, str(exc), http_status(exc))


# ------------------------------------------------------------------------------- form values
SPLIT = re.compile(r"[、,，;；\n]+")


def split_parts(text: str | None) -> list[str]:
    """A list typed into one field: split at 、,，;； and new lines."""
    return [p.strip() for p in SPLIT.split(text or "") if p.strip()]


def validation_message(exc: ValidationError) -> str:
    """Which field was wrong and why, short enough for a status message."""
    return "；".join(
        f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
    )[:280]
