"""FastAPI dependencies as ``Annotated`` aliases: settings, sessions, the index, the caller, and
look-up-and-authorise of the objects a route acts on."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Query, Request, Security, status
from fastapi.security import APIKeyHeader
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.ratelimit import RateLimiter
from api.web.session import check_csrf_header, cookie_session
from chainmatch.audit import ReadAudit, route_of
from chainmatch.db import writer
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal, authenticate
from chainmatch.services import firms as firm_service
from chainmatch.services import gap_lists as gap_list_service
from chainmatch.services import offers as offer_service
from chainmatch.services.access import Access
from chainmatch.services.context import Caller
from chainmatch.settings import Settings
from models.apikey import Role
from models.firm import FIRM_ID_PATTERN, Firm
from models.gap import GapList
from models.offer import SupplyOffer

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key: cm_<prefix>_<secret>")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Engine:
    engine: Engine = request.app.state.db
    return engine


def get_session(db: Annotated[Engine, Depends(get_db)]) -> Iterator[Session]:
    """A read–write session; handlers commit what they write."""
    with Session(writer(db)) as session:
        yield session


def get_read_session(db: Annotated[Engine, Depends(get_db)]) -> Iterator[Session]:
    with Session(db) as session:
        yield session


def get_index(request: Request) -> IndexService:
    index: IndexService = request.app.state.index
    return index


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Engine, Depends(get_db)]
SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
IndexDep = Annotated[IndexService, Depends(get_index)]


def get_page_size(
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1, description="page size, capped by the server")] = None,
) -> int:
    size = limit or settings.default_page_size
    if size > settings.max_page_size:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"limit 最大为 {settings.max_page_size} (page size is capped at {settings.max_page_size})",
        )
    return size


PageSizeDep = Annotated[int, Depends(get_page_size)]


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def throttle(limiter: RateLimiter, key_id: int, cost: float = 1.0) -> None:
    """429 with Retry-After when the key has used up its rate (API and dashboard alike); a bulk
    call passes the ``cost`` of its size."""
    wait = limiter.acquire(key_id, cost)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"请求过于频繁，请 {wait:.1f} 秒后重试 (rate limit exceeded)",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


def get_principal(
    request: Request,
    db: DbDep,
    limiter: RateLimiterDep,
    key: Annotated[str | None, Security(api_key_header)],
) -> Principal:
    """The caller: by its API key, or — without one — by the dashboard's session cookie, so the
    dashboard's script calls the same routes. A cookie-authenticated POST/PUT/PATCH/DELETE must
    carry the session's CSRF token in ``X-CSRF-Token`` (403 otherwise); a key needs none."""
    if not key:
        web = cookie_session(request, db)
        if web is not None:
            check_csrf_header(request, web)
            throttle(limiter, web.principal.key_id)
            return web.principal
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "缺少 API 密钥 X-API-Key (missing API key)",
            headers={"WWW-Authenticate": "APIKey"},
        )
    with Session(db) as session:
        principal = authenticate(session, key)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "API 密钥无效或已吊销 (invalid or revoked API key)",
            headers={"WWW-Authenticate": "APIKey"},
        )
    throttle(limiter, principal.key_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = frozenset(roles)

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = "、".join(sorted(r.value for r in allowed))
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"该操作仅限 {names} 角色 (this action needs role: {names})"
            )
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
BureauOrAdminDep = Annotated[Principal, Depends(require(Role.BUREAU, Role.ADMIN))]
LeaderOrAdminDep = Annotated[Principal, Depends(require(Role.LEADER, Role.ADMIN))]
OfferWriterDep = Annotated[Principal, Depends(require(Role.SUPPLIER, Role.BUREAU, Role.ADMIN))]


def get_read_audit(request: Request, db: DbDep, principal: PrincipalDep) -> ReadAudit:
    return ReadAudit(db, principal, route_of(request.method, request.url.path))


ReadAuditDep = Annotated[ReadAudit, Depends(get_read_audit)]


# ------------------------------------------------------------------------------ look-up-and-authorise
def get_caller(
    request: Request, principal: PrincipalDep, db: DbDep, index: IndexDep, settings: SettingsDep
) -> Caller:
    """The service caller of the request (any role), with the route written on its audit rows."""
    return Caller(principal, db, index, settings, route=route_of(request.method, request.url.path))


GapListId = Annotated[
    str, Path(max_length=40, pattern=r"^[A-Za-z0-9_\-]+$", description="gap list id (gl_…)")
]
FirmId = Annotated[str, Path(max_length=64, pattern=FIRM_ID_PATTERN)]
SupplyOfferId = Annotated[
    str, Path(max_length=40, pattern=r"^[A-Za-z0-9_\-]+$", description="supply offer id (so_…)")
]

Found = TypeVar("Found", GapList, Firm, SupplyOffer)


@dataclass(frozen=True, slots=True)
class Lookup:
    """How a route names one kind of object (its path parameter, with type and validation) and the
    service function that finds it for a caller and an :class:`Access` — or raises 404/403."""

    param: str
    annotation: Any
    find: Callable[[Caller, Any, Access], Any]


LOOKUPS: dict[type, Lookup] = {
    GapList: Lookup("list_id", GapListId, gap_list_service.find),
    Firm: Lookup("firm_id", FirmId, firm_service.find),
    SupplyOffer: Lookup("offer_id", SupplyOfferId, offer_service.find),
}


def lookup(model: type[Found], access: Access) -> Any:
    """A dependency: the ``model`` the route's path names, if the caller may ``access`` it (else
    404, or 403 where the caller may see but not change it, before the route runs). The object is
    found in a short read session of its own and comes back detached: the service the route calls
    opens its own transaction and checks again there, so the check and a write are one."""
    spec = LOOKUPS[model]

    def dependency(caller: Caller, **path: Any) -> Found:
        found: Found = spec.find(caller, path[spec.param], access)
        return found

    # FastAPI reads the parameters from the signature: the path parameter keeps the route's name.
    dependency.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(spec.param, inspect.Parameter.KEYWORD_ONLY, annotation=spec.annotation),
            inspect.Parameter(
                "caller", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Caller, Depends(get_caller)]
            ),
        ],
        return_annotation=model,
    )
    return Depends(dependency)


GapListReadDep = Annotated[GapList, lookup(GapList, Access.READ)]
GapListWriteDep = Annotated[GapList, lookup(GapList, Access.WRITE)]  # owner leader and admin
FirmReadDep = Annotated[Firm, lookup(Firm, Access.READ)]
FirmWriteDep = Annotated[Firm, lookup(Firm, Access.WRITE)]  # admin: 403 for others before any 404
SupplyOfferReadDep = Annotated[SupplyOffer, lookup(SupplyOffer, Access.READ)]
SupplyOfferWriteDep = Annotated[SupplyOffer, lookup(SupplyOffer, Access.WRITE)]
