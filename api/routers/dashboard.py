"""The bureau dashboard at ``/``: plain server-rendered pages (Jinja2, inline SVG charts drawn on the
server, a few lines of vanilla JS for report progress), nothing loaded from the network.

Login: the user pastes an API key once; the server checks it and opens a session. The cookie holds
an opaque random token (``cm_session``: HttpOnly, SameSite=Strict, Path=/, Secure when
``CHAINMATCH_COOKIE_SECURE`` is set, which it should be behind HTTPS) — never the key. Only the
token's SHA-256 is stored (``dashboard_session``), so logout, expiry (``CHAINMATCH_SESSION_HOURS``)
and revoking the API key end the session at once, and a database leak yields no usable cookie.
Every form carries the session's CSRF token as well (SameSite=Strict already keeps other sites'
forms out; the token is defence in depth), and the login form a double-submit token.

What each role sees is what the API lets it see: bureaus their region (declared gap data, outreach),
admin any region, leaders only their own gap lists.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.audit import audit, record_list_reads, route_of
from api.deps import DbDep, IndexDep, SettingsDep, get_rate_limiter, throttle
from api.ratelimit import RateLimiter
from api.routers.chains import download, report_jobs, submit_report_job
from chainmatch.chains import svg
from chainmatch.chains.assessment import assess, gap_candidates
from chainmatch.chains.corpus import corpus_view
from chainmatch.chains.jobs import ReportJobs
from chainmatch.chains.outreach import (
    PIPELINE,
    change_stage,
    create_record,
    get_record,
    list_records,
    publics,
)
from chainmatch.chains.render import ReportFormat, filename, render
from chainmatch.chains.report import build_report, link_candidates
from chainmatch.chains.schemas import ReportRequest, gap_lists_read
from chainmatch.chains.scope import region_key, region_label, resolve_region
from chainmatch.chains.store import default_region, list_chains, live_chain, to_public
from chainmatch.db import writer
from chainmatch.errors import ChainError, ChainNotFound, OutreachError, RegionMissing, http_status
from chainmatch.gaplists import items_of, visible_lists
from chainmatch.keys import Principal, authenticate
from chainmatch.labels import template_environment
from chainmatch.matching import reading_rows, recommend_gap_list, recommend_text
from chainmatch.twosided import offer_marks
from models.apikey import ApiKey, Role
from models.chain import ChainNode
from models.common import utcnow
from models.firm import Firm
from models.gap import GapList, RegionIn
from models.outreach import STAGE_LABELS, DashboardSession, OutreachCreate, Stage, StageChange
from models.regions import PROVINCES
from recommender.corpus import MatchQuery, Region, Scope
from recommender.errors import InvalidQuery
from recommender.text import normalize_key, normalize_text

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

COOKIE = "cm_session"
LOGIN_COOKIE = "cm_login"
HERE = FsPath(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
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


# ------------------------------------------------------------------------------- sessions
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    principal: Principal
    csrf: str
    label: str

    @property
    def role(self) -> Role:
        return self.principal.role

    def can(self, *roles: Role) -> bool:
        return self.principal.role in roles


def open_session(db: Engine, key_id: int, hours: int) -> tuple[str, str]:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with Session(writer(db)) as session:
        # sessions that ended more than a day ago are of no use to anyone: drop them on the way
        session.exec(
            delete(DashboardSession).where(col(DashboardSession.expires_at) < utcnow() - timedelta(days=1))
        )
        session.add(
            DashboardSession(
                token_hash=_digest(token),
                key_id=key_id,
                csrf_token=csrf,
                expires_at=utcnow() + timedelta(hours=hours),
            )
        )
        session.commit()
    return token, csrf


def find_user(db: Engine, token: str | None) -> User | None:
    if not token or len(token) > 100:
        return None
    with Session(db) as session:
        row = session.get(DashboardSession, _digest(token))
        if row is None or row.revoked_at is not None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
        if expires < utcnow():
            return None
        key = session.get(ApiKey, row.key_id)
        if key is None or key.revoked_at is not None:
            return None
        principal = Principal(row.key_id, Role(key.role), key.province, key.city, key.firm_id)
        if principal.role is Role.BUREAU:
            label = f"{ROLE_LABELS[principal.role]} · {principal.province}{principal.city or ''}"
        elif principal.role in (Role.LEADER, Role.SUPPLIER):
            firm = session.get(Firm, principal.firm_id) if principal.firm_id else None
            label = f"{ROLE_LABELS[principal.role]} · {firm.name if firm else principal.firm_id}"
        else:
            label = ROLE_LABELS[principal.role]
        return User(principal, row.csrf_token, label + (f"（{key.label}）" if key.label else ""))


def close_session(db: Engine, token: str) -> None:
    with Session(writer(db)) as session:
        row = session.get(DashboardSession, _digest(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
            session.commit()


def _login_redirect(request: Request) -> HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        status.HTTP_303_SEE_OTHER,
        "请先登录 (login required)",
        headers={"Location": f"/login?{urlencode({'next': target})}"},
    )


def current_user(
    request: Request, db: DbDep, limiter: Annotated[RateLimiter, Depends(get_rate_limiter)]
) -> User:
    user = find_user(db, request.cookies.get(COOKIE))
    if user is None:
        raise _login_redirect(request)
    throttle(limiter, user.principal.key_id)
    return user


UserDep = Annotated[User, Depends(current_user)]


def check_csrf(user: User, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, user.csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "页面已过期，请刷新后重试 (CSRF token mismatch)")


def bureau_user(user: UserDep) -> User:
    if not user.can(Role.BUREAU, Role.ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "该页面仅限招商局 (bureaus only)")
    return user


BureauUserDep = Annotated[User, Depends(bureau_user)]


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _msg_sig(user: User, msg: str, kind: str) -> str:
    """Status messages are the server's own words: signed with the session's secret CSRF token, so a
    link carrying any other ``?msg=`` (a phishing line) shows nothing."""
    return hmac.new(user.csrf.encode(), f"{kind}\n{msg}".encode(), hashlib.sha256).hexdigest()[:32]


def _with_msg(user: User, target: str, msg: str, kind: str = "ok") -> str:
    sep = "&" if "?" in target else "?"
    msg = msg[:300]
    return f"{target}{sep}{urlencode({'msg': msg, 'kind': kind, 'sig': _msg_sig(user, msg, kind)})}"


def _region_args(region: Region) -> str:
    return urlencode({k: v for k, v in (("region", region.province), ("city", region.city)) if v})


def _flash(request: Request, user: User) -> dict[str, str] | None:
    msg = request.query_params.get("msg")
    kind = request.query_params.get("kind", "ok")
    sig = request.query_params.get("sig", "")
    if not msg or kind not in ("ok", "error") or not hmac.compare_digest(sig, _msg_sig(user, msg, kind)):
        return None  # only messages the server set for this session are shown
    return {"text": msg, "kind": kind}


def _common(request: Request, user: User, **extra: Any) -> dict[str, Any]:
    return {"user": user, "flash": _flash(request, user), "path": request.url.path, **extra}


def _domain(request: Request, user: User, call: Callable[[], HTMLResponse]) -> HTMLResponse:
    try:
        return call()
    except (ChainError, OutreachError) as exc:
        code = http_status(exc)
        return page("error.html", code, **_common(request, user, code=code, message=str(exc)))


# ------------------------------------------------------------------------------- static, login
@router.get("/static/{name}")
def static_file(name: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]) -> Response:
    path = STATIC / name
    if name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return Response(
        path.read_bytes(),
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def _login_page(
    settings_secure: bool, next_url: str, error: str | None = None, code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page("login.html", code, csrf=token, next=next_url, error=error, user=None, flash=None)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=1800,
        httponly=True,
        samesite="strict",
        secure=settings_secure,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    settings: SettingsDep, next: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return _login_page(settings.cookie_secure, _safe_next(next))


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
    if not csrf or not expected or not hmac.compare_digest(csrf, expected):
        return _login_page(
            settings.cookie_secure, _safe_next(next), "登录页已过期，请重试 (login form expired)", 400
        )
    with Session(db) as session:
        principal = authenticate(session, api_key.strip())
    if principal is None:
        return _login_page(
            settings.cookie_secure, _safe_next(next), "API 密钥无效或已吊销 (invalid or revoked key)", 401
        )
    token, _ = open_session(db, principal.key_id, settings.session_hours)
    logger.info("dashboard login: key %s (%s)", principal.key_id, principal.role.value)
    response = RedirectResponse(_safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        COOKIE,
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
    token = request.cookies.get(COOKIE)
    if token:
        close_session(db, token)
    response = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE, path="/")
    return response


# ------------------------------------------------------------------------------- pages
RegionQ = Annotated[str | None, Query(max_length=40)]
CityQ = Annotated[str | None, Query(max_length=60)]
ChainIdP = Annotated[str, Path(max_length=64)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: UserDep, db: DbDep, index: IndexDep) -> Response:
    if user.role is Role.SUPPLIER:  # a supplier's dashboard is its supply offers
        return RedirectResponse("/offers", status.HTTP_303_SEE_OTHER)
    if user.role is Role.LEADER:
        with Session(db) as session:
            return _leader_home(request, user, db, session, index)
    with Session(db) as session:
        chains = list_chains(session)
        records = list_records(session, user.principal, limit=1000)
    counts: dict[str, int] = {}
    for r in records:
        counts[r.stage.value] = counts.get(r.stage.value, 0) + 1
    return page("home.html", **_common(request, user, chains=chains, counts=counts, tracked=len(records)))


def _audit(db: Engine, user: User, action: str, object_type: str, object_id: str) -> None:
    with Session(writer(db)) as session:
        audit(session, user.principal, action, object_type, object_id)
        session.commit()


def _leader_home(request: Request, user: User, db: Engine, session: Session, index: IndexDep) -> HTMLResponse:
    """A leader sees its own gap lists and their recommendations — never anyone else's."""
    lists = session.exec(visible_lists(user.principal).order_by(col(GapList.created_at))).all()
    recommendations = []
    for gap_list in lists:
        items = items_of(session, gap_list)
        _audit(db, user, "recommend", "gap_list", gap_list.id)
        with index.searching() as engine:
            recommendations.append(recommend_gap_list(engine, gap_list, items, k=5))
    return page("leader.html", **_common(request, user, lists=list(zip(lists, recommendations, strict=True))))


def _chain_context(
    request: Request, user: User, db: Engine, chain_id: str, region: str | None, city: str | None
) -> dict[str, Any]:
    with Session(db) as session:
        chain = live_chain(session, chain_id)
        where = resolve_region(user.principal, region, city, default=default_region(chain))
        view = corpus_view(session)
        assessment = assess(session, chain, where, user.principal, view=view)
        gaps = gap_candidates(session, chain, where, user.principal, view=view)
        public = to_public(session, chain)
    _audit(db, user, "weak_links", "chain", public.id)
    route = route_of(request.method, request.url.path)
    record_list_reads(db, user.principal, "weak_links", gap_lists_read(assessment, gaps), route=route)
    args = _region_args(where)
    return _common(
        request,
        user,
        chain=public,
        region=where,
        region_label=region_label(where),
        region_args=args,
        assessment=assessment,
        gaps=gaps,
        graph=Markup(
            svg.chain_graph(
                assessment.links,
                public.edges,
                href=lambda lk: f"/chains/{quote(public.id)}/links/{quote(lk.node_id)}?{args}",
                title=f"{public.name} 产业链图谱",
            )
        ),
        places=Markup(svg.place_bars(assessment.places)),
        score_bars={
            lk.node_id: Markup(svg.score_bar(lk.parts, width=160)) for lk in assessment.links if lk.parts
        },
    )


@router.get("/chains/{chain_id}", response_class=HTMLResponse)
def chain_page(
    request: Request,
    chain_id: ChainIdP,
    user: BureauUserDep,
    db: DbDep,
    region: RegionQ = None,
    city: CityQ = None,
) -> HTMLResponse:
    return _domain(
        request, user, lambda: page("chain.html", **_chain_context(request, user, db, chain_id, region, city))
    )


@router.get("/chains/{chain_id}/links/{node_id}", response_class=HTMLResponse)
def link_page(
    request: Request,
    chain_id: ChainIdP,
    node_id: Annotated[str, Path(max_length=64)],
    user: BureauUserDep,
    db: DbDep,
    index: IndexDep,
    region: RegionQ = None,
    city: CityQ = None,
    k: Annotated[int, Query(ge=1, le=30)] = 8,
    products: Annotated[int, Query(ge=1, le=10)] = 3,
) -> HTMLResponse:
    def render_link() -> HTMLResponse:
        context = _chain_context(request, user, db, chain_id, region, city)
        assessment = context["assessment"]
        link = next((lk for lk in assessment.links if lk.node_id == node_id), None)
        if link is None:
            raise ChainNotFound(f"产业链 {chain_id} 没有环节 {node_id} (no such node)")
        where: Region = context["region"]
        candidates = (
            []
            if link.score is None
            else link_candidates(index, where, link, assessment, k=k, products=products)
        )
        with Session(db) as session:
            tracked = {
                (r.product, r.firm_id): r
                for r in list_records(
                    session, user.principal, chain_id=chain_id, node_id=node_id, region=where, limit=1000
                )
                if r.region_key == region_key(where)
            }
            with index.searching() as engine:  # firms that declared they will supply it (配套意愿)
                marks = offer_marks(
                    session,
                    engine.understand,
                    where,
                    [(p.product, [*p.investment_targets, *p.local_suppliers]) for p in candidates],
                )
        context.update(
            link=link,
            candidates=candidates,
            tracked=tracked,
            offer_marks=marks,
            graph=Markup(
                svg.chain_graph(
                    assessment.links,
                    context["chain"].edges,
                    href=lambda lk: (
                        f"/chains/{quote(chain_id)}/links/{quote(lk.node_id)}?{context['region_args']}"
                    ),
                    selected=node_id,
                )
            ),
        )
        return page("link.html", **context)

    return _domain(request, user, render_link)


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline(
    request: Request,
    user: BureauUserDep,
    db: DbDep,
    chain: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    with Session(db) as session:
        records = list_records(session, user.principal, chain_id=chain or None, limit=2000)
        cards = publics(session, records)
        chains = list_chains(session)
        chain_ids = list({r.chain_id for r in records})
        node_names = {
            (n.chain_id, n.key): n.name
            for n in session.exec(select(ChainNode).where(col(ChainNode.chain_id).in_(chain_ids)))
        }
    columns = {s.value: [c for c in cards if c.stage is s] for s in PIPELINE}
    next_stage = {s.value: PIPELINE[min(i + 1, len(PIPELINE) - 2)].value for i, s in enumerate(PIPELINE)}
    next_stage[Stage.DECLINED.value] = Stage.SHORTLISTED.value
    return page(
        "pipeline.html",
        **_common(
            request,
            user,
            columns=columns,
            chains=chains,
            chain_filter=chain or "",
            node_names=node_names,
            next_stage=next_stage,
        ),
    )


# ------------------------------------------------------------------------------- search
@dataclass(frozen=True)
class NodeChoice:
    """A chain node a typed weak link can be tracked under (outreach records belong to a node)."""

    chain_id: str
    node_id: str
    label: str
    keys: frozenset[str]
    province: str | None  # the chain's default region

    @property
    def value(self) -> str:
        return f"{self.chain_id}/{self.node_id}"


def _node_choices(session: Session) -> list[NodeChoice]:
    chains = {c.id: c for c in list_chains(session)}
    if not chains:
        return []
    nodes = session.exec(
        select(ChainNode)
        .where(col(ChainNode.chain_id).in_(list(chains)))
        .order_by(col(ChainNode.chain_id), col(ChainNode.position))
    ).all()
    return [
        NodeChoice(
            chain_id=n.chain_id,
            node_id=n.key,
            label=f"{chains[n.chain_id].name} · {n.name}",
            keys=frozenset(normalize_key(x) for x in [n.name, *n.products] if x),
            province=chains[n.chain_id].region_province,
        )
        for n in nodes
    ]


def _node_for(
    choices: list[NodeChoice], asked: str, products: list[str], region: Region
) -> tuple[NodeChoice | None, bool]:
    """The node to track candidates under: the one asked for, else the first node that lists the
    understood product (a chain of the region first). Second: whether it was found automatically."""
    if asked:
        return next((c for c in choices if c.value == asked), None), False
    keys = {normalize_key(p) for p in products if p}
    found = [c for c in choices if c.keys & keys]
    if not found:
        return None, False
    found.sort(key=lambda c: c.province != region.province)  # stable: chain order within each
    return found[0], True


def _admin_default_region(session: Session) -> Region | None:
    for summary in list_chains(session):
        if summary.region_province:
            return Region(summary.region_province, summary.region_city)
    return None


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    user: BureauUserDep,
    db: DbDep,
    index: IndexDep,
    q: Annotated[str, Query(max_length=200)] = "",
    description: Annotated[str, Query(max_length=2000)] = "",
    region: RegionQ = None,
    city: CityQ = None,
    link: Annotated[str, Query(max_length=130)] = "",
    k: Annotated[int, Query(ge=1, le=30)] = 8,
) -> HTMLResponse:
    """A weak link a bureau heard of on a visit, typed as heard: how it was read, the investment
    targets outside the region and the local suppliers inside, each with a button that puts it
    into the outreach pipeline (under the chain node that lists the product, or one chosen)."""

    def render_search() -> HTMLResponse:
        text = normalize_text(q)
        with Session(db) as session:
            default = _admin_default_region(session) if user.role is Role.ADMIN else None
            choices = _node_choices(session)
        try:
            where: Region | None = resolve_region(user.principal, region, city, default=default)
        except RegionMissing:
            where = None  # an admin without a chain to take a region from: the form asks for one
        context = _common(
            request,
            user,
            q=q,
            description=description,
            region=where,
            region_label=region_label(where) if where else "",
            choices=choices,
            link=link,
            k=k,
            understood=None,
            reading=[],
            targets=[],
            local=[],
            node=None,
            node_auto=False,
            tracked={},
            product=None,
            error=None,
            examples=SEARCH_EXAMPLES,
            back="/search",
        )
        if not text:
            return page("search.html", **context)
        if where is None:
            context["error"] = "请选择区域后再检索 (choose a region)"
            return page("search.html", 422, **context)
        query = MatchQuery(
            text=text, description=normalize_text(description) or None, region=where, scope=Scope.ALL, k=k
        )
        try:
            with index.searching() as engine:
                understood, targets, local = recommend_text(engine, query)
        except InvalidQuery as exc:
            context["error"] = str(exc)
            return page("search.html", 422, **context)
        product = understood.product or text
        node, auto = _node_for(choices, link, [product, *understood.synonyms], where)
        tracked: dict[str, Any] = {}
        if node is not None:
            with Session(db) as session:
                tracked = {
                    r.firm_id: r
                    for r in list_records(
                        session,
                        user.principal,
                        chain_id=node.chain_id,
                        node_id=node.node_id,
                        region=where,
                        limit=1000,
                    )
                    if r.region_key == region_key(where) and r.product == product
                }
        args = {
            key: value
            for key, value in (
                ("q", text),
                ("description", normalize_text(description)),
                ("region", where.province if user.role is Role.ADMIN else ""),
                ("city", where.city or ""),
                ("link", link),
                ("k", str(k) if k != 8 else ""),
            )
            if value
        }
        back = "/search?" + urlencode(args)
        if len(back) > 500:  # the shortlist form's next= takes 500: the same search without the context
            back = "/search?" + urlencode({key: v for key, v in args.items() if key != "description"})
        context.update(
            understood=understood,
            reading=reading_rows(understood),
            targets=targets,
            local=local,
            node=node,
            node_auto=auto,
            tracked=tracked,
            product=product,
            back=back if len(back) <= 500 else "/search",
        )
        return page("search.html", **context)

    return _domain(request, user, render_search)


SEARCH_EXAMPLES = ("用于质谱仪的离子源", "高精度光栅尺", "PMT", "离子源，主要依赖日本进口，进口占比约70%")


# ------------------------------------------------------------------------------- actions
@router.post("/outreach")
def shortlist(
    request: Request,
    user: BureauUserDep,
    db: DbDep,
    csrf: Annotated[str, Form(max_length=100)],
    chain_id: Annotated[str, Form(max_length=64)],
    node_id: Annotated[str, Form(max_length=64)],
    product: Annotated[str, Form(max_length=200)],
    firm_id: Annotated[str, Form(max_length=64)],
    for_product: Annotated[str, Form(max_length=200)] = "",
    region: Annotated[str, Form(max_length=40)] = "",
    city: Annotated[str, Form(max_length=60)] = "",
    rank: Annotated[int | None, Form(ge=1)] = None,
    score: Annotated[float | None, Form()] = None,
    next: Annotated[str, Form(max_length=500)] = "/pipeline",
) -> Response:
    check_csrf(user, csrf)
    target = _safe_next(next)
    try:
        body = OutreachCreate(
            chain_id=chain_id,
            node_id=node_id,
            product=product,
            for_product=for_product or None,
            firm_id=firm_id,
            region=RegionIn(province=region, city=city or None) if region else None,
            rank=rank,
            score=score,
        )
        with Session(writer(db)) as session:
            record = create_record(session, user.principal, body)
            firm = session.get(Firm, record.firm_id)
            session.commit()
            name = firm.name if firm else firm_id
    except (ChainError, OutreachError, ValueError) as exc:
        return RedirectResponse(
            _with_msg(user, target, str(exc).splitlines()[0], "error"), status.HTTP_303_SEE_OTHER
        )
    return RedirectResponse(
        _with_msg(user, target, f"已将 {name} 加入跟踪（{product}）"), status.HTTP_303_SEE_OTHER
    )


@router.post("/outreach/{record_id}/stage")
def move_stage(
    record_id: Annotated[int, Path(ge=1)],
    user: BureauUserDep,
    db: DbDep,
    csrf: Annotated[str, Form(max_length=100)],
    stage: Annotated[Stage, Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    version: Annotated[int | None, Form()] = None,
    next: Annotated[str, Form(max_length=500)] = "/pipeline",
) -> Response:
    check_csrf(user, csrf)
    target = _safe_next(next)
    try:
        change = StageChange(stage=stage, reason=reason or None, note=note or None, expected_version=version)
        with Session(writer(db)) as session:
            record = get_record(session, user.principal, record_id)
            change_stage(session, user.principal, record, change)
            session.commit()
    except (ChainError, OutreachError, ValueError) as exc:
        return RedirectResponse(
            _with_msg(user, target, str(exc).splitlines()[0], "error"), status.HTTP_303_SEE_OTHER
        )
    return RedirectResponse(
        _with_msg(user, target, f"记录 {record_id} → {STAGE_LABELS[stage]}"), status.HTTP_303_SEE_OTHER
    )


JobsDep = Annotated[ReportJobs, Depends(report_jobs)]


@router.post("/chains/{chain_id}/report-jobs")
def start_job(
    request: Request,
    chain_id: ChainIdP,
    user: BureauUserDep,
    db: DbDep,
    index: IndexDep,
    jobs: JobsDep,
    csrf: Annotated[str, Form(max_length=100)],
    region: Annotated[str, Form(max_length=40)] = "",
    city: Annotated[str, Form(max_length=60)] = "",
    top: Annotated[int, Form(ge=1, le=100)] = 10,
    k: Annotated[int, Form(ge=1, le=50)] = 5,
) -> JSONResponse:
    check_csrf(user, csrf)
    try:
        with Session(writer(db)) as session:
            chain = live_chain(session, chain_id)
            where = resolve_region(
                user.principal, region or None, city or None, default=default_region(chain)
            )
            audit(session, user.principal, "report", "chain", chain.id)
            session.commit()
    except ChainError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=http_status(exc))
    job = submit_report_job(jobs, db, index, chain_id, where, user.principal, ReportRequest(top=top, k=k))
    return JSONResponse(_job_json(job), status_code=status.HTTP_202_ACCEPTED)


def _job_json(job: Any) -> dict[str, Any]:
    data: dict[str, Any] = job.model_dump(mode="json", exclude={"owner_key_id"})
    data["percent"] = job.percent
    if job.state == "done":
        data["downloads"] = {f.value: f"/jobs/{job.id}/download/{f.value}" for f in ReportFormat}
    return data


@router.get("/jobs/{job_id}")
def job_status(
    job_id: Annotated[str, Path(max_length=40)], user: BureauUserDep, jobs: JobsDep
) -> JSONResponse:
    job = jobs.status(job_id, key_id=user.principal.key_id, admin=user.role is Role.ADMIN)
    return JSONResponse(_job_json(job), headers={"Cache-Control": "no-store"})


@router.get("/jobs/{job_id}/download/{fmt}")
def job_download(
    request: Request,
    job_id: Annotated[str, Path(max_length=40)],
    fmt: ReportFormat,
    user: BureauUserDep,
    db: DbDep,
    jobs: JobsDep,
) -> Response:
    admin, key_id = user.role is Role.ADMIN, user.principal.key_id
    data, name = jobs.result(job_id, fmt, key_id=key_id, admin=admin)
    lists = jobs.gap_lists(job_id, key_id=key_id, admin=admin)
    record_list_reads(db, user.principal, "report", lists, route=route_of(request.method, request.url.path))
    return download(data, name, fmt)


@router.get("/chains/{chain_id}/report.{fmt}")
def report_now(
    request: Request,
    chain_id: ChainIdP,
    fmt: ReportFormat,
    user: BureauUserDep,
    db: DbDep,
    index: IndexDep,
    region: RegionQ = None,
    city: CityQ = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> Response:
    """Synchronous download (works without JavaScript)."""
    try:
        with Session(writer(db)) as session:
            chain = live_chain(session, chain_id)
            where = resolve_region(user.principal, region, city, default=default_region(chain))
            audit(session, user.principal, "report", "chain", chain.id)
            session.commit()
        result = build_report(db, index, chain_id, where, user.principal, ReportRequest(top=top, k=k))
    except ChainError as exc:
        return page(
            "error.html", http_status(exc), **_common(request, user, code=http_status(exc), message=str(exc))
        )
    data = render(result, fmt)
    route = route_of(request.method, request.url.path)
    record_list_reads(db, user.principal, "report", gap_lists_read(result), route=route)
    return download(data, filename(result, fmt), fmt)
