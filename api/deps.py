"""FastAPI dependencies as ``Annotated`` aliases: settings, sessions, the index, the caller, and
look-up-and-authorise of the objects a route acts on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, Security, status
from fastapi.security import APIKeyHeader
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.audit import ReadAudit, route_of
from api.ratelimit import RateLimiter
from chainmatch import offers
from chainmatch.chains.outreach import get_record
from chainmatch.chains.store import live_chain
from chainmatch.db import writer
from chainmatch.gaplists import get_visible
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal, authenticate
from chainmatch.settings import Settings
from models.apikey import Role
from models.chain import Chain
from models.firm import FIRM_ID_PATTERN, Firm
from models.gap import GapList
from models.offer import SupplyOffer
from models.outreach import OutreachRecord

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
    db: DbDep,
    limiter: RateLimiterDep,
    key: Annotated[str | None, Security(api_key_header)],
) -> Principal:
    if not key:
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

GapListId = Annotated[
    str, Path(max_length=40, pattern=r"^[A-Za-z0-9_\-]+$", description="gap list id (gl_…)")
]
FirmId = Annotated[str, Path(max_length=64, pattern=FIRM_ID_PATTERN)]


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what}不存在 (not found)")


def get_read_audit(request: Request, db: DbDep, principal: PrincipalDep) -> ReadAudit:
    return ReadAudit(db, principal, route_of(request.method, request.url.path))


ReadAuditDep = Annotated[ReadAudit, Depends(get_read_audit)]


def _visible_gap_list(session: Session, principal: Principal, list_id: str) -> GapList:
    """The gap list if the caller may see it; 404 otherwise (whether or not it exists)."""
    gap_list = get_visible(session, principal, list_id)
    if gap_list is None:
        raise _not_found("清单")
    return gap_list


def get_visible_gap_list(list_id: GapListId, principal: PrincipalDep, session: SessionDep) -> GapList:
    """For routes that change the list: looked up in the request's write session."""
    return _visible_gap_list(session, principal, list_id)


def get_readable_gap_list(list_id: GapListId, principal: PrincipalDep, session: ReadSessionDep) -> GapList:
    """For routes that only read it: looked up in the request's read session."""
    return _visible_gap_list(session, principal, list_id)


def get_editable_gap_list(
    gap_list: Annotated[GapList, Depends(get_visible_gap_list)], principal: PrincipalDep
) -> GapList:
    """Only the owning leader and admin may revise or delete; a bureau that can see it gets 403."""
    if principal.role is Role.BUREAU:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "招商局不能修改企业的清单 (bureaus cannot modify gap lists)"
        )
    return gap_list


ReadableGapListDep = Annotated[GapList, Depends(get_readable_gap_list)]
EditableGapListDep = Annotated[GapList, Depends(get_editable_gap_list)]


def _live_firm(session: Session, firm_id: str) -> Firm:
    firm = session.get(Firm, firm_id)
    if firm is None or firm.deleted_at is not None:
        raise _not_found("企业")
    return firm


def get_admin_firm(firm_id: FirmId, session: ReadSessionDep, _admin: AdminDep) -> Firm:
    """For the admin-only firm writes: the role is checked first, so others get 403, never a 404
    that tells them whether the id exists. (The write itself runs in its own transaction.)"""
    return _live_firm(session, firm_id)


def get_readable_firm(firm_id: FirmId, session: ReadSessionDep, _principal: PrincipalDep) -> Firm:
    return _live_firm(session, firm_id)


AdminFirmDep = Annotated[Firm, Depends(get_admin_firm)]
ReadableFirmDep = Annotated[Firm, Depends(get_readable_firm)]


ChainId = Annotated[str, Path(max_length=64, description="chain id, e.g. precision-instruments-gd")]


def get_chain(chain_id: ChainId, session: SessionDep, _principal: BureauOrAdminDep) -> Chain:
    """The live chain (chains are planning data every bureau and admin may see), in the write
    session of a route that changes it; 404 otherwise."""
    return live_chain(session, chain_id)


def get_readable_chain(chain_id: ChainId, session: ReadSessionDep, _principal: BureauOrAdminDep) -> Chain:
    return live_chain(session, chain_id)


ChainDep = Annotated[Chain, Depends(get_chain)]
ReadableChainDep = Annotated[Chain, Depends(get_readable_chain)]

OutreachRecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def get_visible_record(
    record_id: OutreachRecordId, principal: BureauOrAdminDep, session: SessionDep
) -> OutreachRecord:
    """The outreach record if it lies in the caller's region, in the write session of a route
    that changes it; 404 otherwise (whether or not it exists)."""
    return get_record(session, principal, record_id)


def get_readable_record(
    record_id: OutreachRecordId, principal: BureauOrAdminDep, session: ReadSessionDep
) -> OutreachRecord:
    return get_record(session, principal, record_id)


OutreachRecordDep = Annotated[OutreachRecord, Depends(get_visible_record)]
ReadableOutreachRecordDep = Annotated[OutreachRecord, Depends(get_readable_record)]


SupplyOfferId = Annotated[
    str, Path(max_length=40, pattern=r"^[A-Za-z0-9_\-]+$", description="supply offer id (so_…)")
]


def get_visible_offer(offer_id: SupplyOfferId, principal: OfferWriterDep, session: SessionDep) -> SupplyOffer:
    """The offer if the caller may see it (a supplier its own, a bureau its region's firms',
    admin all), in the write session of a route that changes it; 404 otherwise; leaders 403."""
    return offers.get_visible(session, principal, offer_id)


def get_readable_offer(
    offer_id: SupplyOfferId, principal: OfferWriterDep, session: ReadSessionDep
) -> SupplyOffer:
    return offers.get_visible(session, principal, offer_id)


SupplyOfferDep = Annotated[SupplyOffer, Depends(get_visible_offer)]
ReadableSupplyOfferDep = Annotated[SupplyOffer, Depends(get_readable_offer)]
