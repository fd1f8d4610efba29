"""The firm registry: bulk import, read (with the contact person for admin only), search, change,
soft delete, and a firm's profile (企业画像) as the caller may see it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from sqlalchemy import or_
from sqlmodel import Session, col, select

from chainmatch.errors import InvalidInput, NotFound
from chainmatch.firmprofile import FirmProfile, build_profile
from chainmatch.ingest.firms import ingest_firms, soft_delete_firm
from chainmatch.ingest.readers import ParsedRecord
from chainmatch.ingest.relations import ingest_relations
from chainmatch.ingest.report import IngestReport
from chainmatch.keys import Principal
from chainmatch.services.access import Access
from chainmatch.services.context import Caller
from chainmatch.services.regions import resolve_region
from models.apikey import Role
from models.firm import Contact, Firm, FirmAdminPublic, FirmProduct, FirmTag, FirmUpdate
from models.mapping import to_public
from models.matching import Page
from models.regions import normalize_province
from recommender.corpus import Region
from recommender.text import normalize_text

NOT_FOUND = "企业不存在 (not found)"


# ------------------------------------------------------------------------------ finding
def _live(session: Session, firm_id: str) -> Firm:
    firm = session.get(Firm, firm_id)
    if firm is None or firm.deleted_at is not None:
        raise NotFound(NOT_FOUND)
    return firm


def find(caller: Caller, firm_id: str, access: Access = Access.READ) -> Firm:
    """The live firm (any key may read the registry; only admin changes it). For a change the role
    is checked first, so others get 403, never a 404 that tells them whether the id exists."""
    if access is Access.WRITE:
        caller.require(Role.ADMIN)
    with caller.reading() as session:
        return _live(session, firm_id)


def firm_public(session: Session, firm: Firm, principal: Principal) -> FirmAdminPublic:
    """The firm as the API shows it; its contact person (personal data) to admin only."""
    products = session.exec(
        select(FirmProduct).where(FirmProduct.firm_id == firm.id).order_by(col(FirmProduct.position))
    ).all()
    tags = session.exec(select(FirmTag.tag).where(FirmTag.firm_id == firm.id)).all()
    contact = None
    if principal.role is Role.ADMIN and (firm.contact_name or firm.contact_phone or firm.contact_email):
        contact = Contact(name=firm.contact_name, phone=firm.contact_phone, email=firm.contact_email)
    return to_public(FirmAdminPublic, firm, products=products, tags=sorted(tags), contact=contact)


# ------------------------------------------------------------------------------ reading
def read(caller: Caller, firm_id: str) -> FirmAdminPublic:
    """A firm's registry record; a read of its contact person is audited."""
    with caller.reading() as session:
        public = firm_public(session, _live(session, firm_id), caller.principal)
    if public.contact is not None:
        caller.record("read", "firm_contact", firm_id)
    return public


def profile(
    caller: Caller,
    firm_id: str,
    *,
    province: str | None = None,
    city: str | None = None,
    focus: tuple[str, str] | None = None,
) -> FirmProfile:
    """企业画像: products and their product-graph neighbourhood, every weak link of the caller's
    region the firm is ranked for, the caller's outreach with it and the gap lists of it the caller
    may read. A bureau sees its own region's; a firm's own key only its own firm (404 for others);
    admin all, ranked in ``province`` when given. ``focus``: (chain id, node id) to rank it for."""
    principal = caller.principal
    with caller.reading() as session:
        firm = _live(session, firm_id)
        if principal.role not in (Role.ADMIN, Role.BUREAU) and firm.id != principal.firm_id:
            # another firm's standing and lists are none of a firm's business: as if it did not exist
            raise NotFound(NOT_FOUND)
        where: Region | None = None
        if principal.role is Role.BUREAU or (principal.role is Role.ADMIN and province):
            where = resolve_region(principal, province, city)
        public = firm_public(session, firm, principal)
    result = build_profile(caller.db, caller.index, principal, public, where, focus=focus)
    if public.contact is not None:
        caller.record("read", "firm_contact", firm_id)
    caller.record_lists("profile", result.lists_read)
    return result


def _decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("cursor 无效 (invalid cursor)") from exc


def search(
    caller: Caller,
    *,
    limit: int,
    province: str | None = None,
    q: str | None = None,
    tag: str | None = None,
    cursor: str | None = None,
) -> Page[FirmAdminPublic]:
    """Live firms by id, filtered by province, tag and ``q`` (in name, full name or product names).
    A listing never carries personal data, even to admin: read one firm for its contact."""
    query = select(Firm).where(col(Firm.deleted_at).is_(None))
    if province:
        query = query.where(Firm.province == normalize_province(province))
    if tag:
        query = query.where(
            col(Firm.id).in_(select(FirmTag.firm_id).where(FirmTag.tag == normalize_text(tag)))
        )
    if q:
        needle = f"%{normalize_text(q)}%"
        query = query.where(
            or_(
                col(Firm.name).like(needle),
                col(Firm.fullname).like(needle),
                col(Firm.id).in_(select(FirmProduct.firm_id).where(col(FirmProduct.name).like(needle))),
            )
        )
    after = _decode_cursor(cursor)
    if after is not None:
        query = query.where(Firm.id > after)
    with caller.reading() as session:
        firms = session.exec(query.order_by(col(Firm.id)).limit(limit + 1)).all()
        more = len(firms) > limit
        firms = firms[:limit]
        items = [
            firm_public(session, f, caller.principal).model_copy(update={"contact": None}) for f in firms
        ]
    next_cursor = base64.urlsafe_b64encode(firms[-1].id.encode()).decode() if more and firms else None
    return Page[FirmAdminPublic](items=items, next_cursor=next_cursor)


# ------------------------------------------------------------------------------ writing
def import_firms(
    caller: Caller, records: Sequence[ParsedRecord], *, skip_invalid: bool = False, progress: bool = False
) -> IngestReport:
    """Upsert firms by id (admin): with any invalid record nothing is written unless
    ``skip_invalid``. The index is not refreshed here: the caller decides when (one refresh after
    a bulk call, a rebuild after a CLI import)."""
    caller.require(Role.ADMIN)
    return ingest_firms(caller.db, records, skip_invalid=skip_invalid, progress=progress)


def import_relations(
    caller: Caller, records: Sequence[ParsedRecord], *, skip_invalid: bool = False, progress: bool = False
) -> IngestReport:
    """Add product relations {product, relation, target} (admin); existing ones are unchanged."""
    caller.require(Role.ADMIN)
    return ingest_relations(caller.db, records, skip_invalid=skip_invalid, progress=progress)


def update(caller: Caller, firm_id: str, body: FirmUpdate) -> FirmAdminPublic:
    """Change some fields (admin): the stored record with the sent fields replaced is written as
    one import record — same validation, normalisation and warnings as an import — and the index
    catches up before the answer. Concurrent writes to one firm: the last one wins."""
    caller.require(Role.ADMIN)
    with caller.reading() as session:
        current = firm_public(session, _live(session, firm_id), caller.principal)
    record = current.model_dump(exclude={"created_at", "updated_at"}) | body.model_dump(exclude_unset=True)
    report = ingest_firms(caller.db, [ParsedRecord(1, record)])
    if not report.written:
        raise FirmRejected([issue.model_dump(exclude={"line"}) for issue in report.errors])
    caller.index.refresh(checkpoint=True)
    with caller.reading() as session:
        return firm_public(session, _live(session, firm_id), caller.principal)


def delete(caller: Caller, firm_id: str) -> None:
    """Soft delete (admin): the firm leaves every result at once; its record is kept for audit."""
    caller.require(Role.ADMIN)
    with caller.writing() as session:
        if not soft_delete_firm(session, firm_id):
            raise NotFound(NOT_FOUND)
    caller.index.refresh(checkpoint=True)


class FirmRejected(InvalidInput):
    """The changed record does not validate; ``issues``: field and reason of each error."""

    def __init__(self, issues: list[dict[str, object]]) -> None:
        super().__init__("; ".join(str(i.get("message")) for i in issues))
        self.issues = issues
