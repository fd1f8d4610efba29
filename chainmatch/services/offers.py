"""Supply offers (配套意愿): a firm's declaration that it can and will supply. Versioned like gap
lists. A supplier sees and writes its own; a bureau those of firms in its region; admin all, and
imports them in bulk. Leaders have no access (a matching offer marks a firm in their matches)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col

from chainmatch import offers
from chainmatch.audit import audit
from chainmatch.errors import UnreadableInput
from chainmatch.services.access import Access
from chainmatch.services.context import Caller
from chainmatch.twosided import offer_marks
from models.apikey import Role
from models.matching import Page
from models.offer import (
    SupplyOffer,
    SupplyOfferCreate,
    SupplyOfferPublic,
    SupplyOfferRevision,
    SupplyOfferUpdate,
)
from recommender.corpus import Region

OFFER_ROLES = (Role.SUPPLIER, Role.BUREAU, Role.ADMIN)


def find_in(session: Session, caller: Caller, offer_id: str, access: Access = Access.READ) -> SupplyOffer:
    """The offer if the caller may see it (a supplier its own, a bureau its region's firms', admin
    all) — who may see an offer may also change it —; 404 otherwise; leaders 403."""
    del access  # reading and writing an offer need the same scope
    caller.require(*OFFER_ROLES)
    return offers.get_visible(session, caller.principal, offer_id)


def find(caller: Caller, offer_id: str, access: Access = Access.READ) -> SupplyOffer:
    """:func:`find_in`, in a short read session of its own (the row comes back detached)."""
    with caller.reading() as session:
        return find_in(session, caller, offer_id, access)


def list_page(
    caller: Caller,
    *,
    limit: int,
    firm_id: str | None = None,
    valid_only: bool = False,
    cursor: str | None = None,
) -> Page[SupplyOfferPublic]:
    """The offers the caller may see, by id; ``valid_only``: those whose validity has not passed."""
    caller.require(*OFFER_ROLES)
    query = offers.visible_offers(caller.principal)
    if firm_id:
        query = query.where(SupplyOffer.firm_id == firm_id)
    if valid_only:
        query = query.where(col(SupplyOffer.valid_until) >= offers.today())
    if cursor:
        query = query.where(SupplyOffer.id > cursor)
    with caller.reading() as session:
        rows = session.exec(query.order_by(col(SupplyOffer.id)).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        items = offers.publics(session, rows)
    return Page[SupplyOfferPublic](items=items, next_cursor=rows[-1].id if more and rows else None)


def latest(caller: Caller, *, limit: int, firm_id: str | None = None) -> list[SupplyOfferPublic]:
    """The ``limit`` most recently changed offers the caller may see (only ``firm_id``'s if
    given), newest first."""
    caller.require(*OFFER_ROLES)
    query = offers.visible_offers(caller.principal)
    if firm_id:
        query = query.where(SupplyOffer.firm_id == firm_id)
    with caller.reading() as session:
        rows = session.exec(query.order_by(col(SupplyOffer.updated_at).desc()).limit(limit)).all()
        return offers.publics(session, rows)


def marks(
    caller: Caller, region: Region, lists: Sequence[tuple[str, Sequence[Any]]]
) -> dict[tuple[str, str], str]:
    """(product, firm id) → the offer line, for the candidates shown under each product of
    ``lists`` whose firm declared it will supply the product to ``region`` (配套意愿)."""
    caller.require(*OFFER_ROLES)
    with caller.reading() as session, caller.index.searching() as engine:
        return offer_marks(session, engine.understand, region, lists)


def read(caller: Caller, offer_id: str) -> SupplyOfferPublic:
    with caller.reading() as session:
        return offers.publics(session, [find_in(session, caller, offer_id)])[0]


def revisions(caller: Caller, offer_id: str) -> list[SupplyOfferRevision]:
    """The superseded versions, oldest first."""
    with caller.reading() as session:
        return offers.revisions_of(session, find_in(session, caller, offer_id))


def create(caller: Caller, body: SupplyOfferCreate) -> SupplyOfferPublic:
    """A supplier for its own firm; a bureau for a firm in its region (``firm_id``); admin for any."""
    caller.require(*OFFER_ROLES)
    with caller.writing() as session:
        offer = offers.create_offer(session, caller.principal, body)
        audit(session, caller.principal, "create", "supply_offer", offer.id)
        return offers.publics(session, [offer])[0]


def revise(caller: Caller, offer_id: str, body: SupplyOfferUpdate) -> SupplyOfferPublic:
    """Replace every field; the version goes up and the previous one is kept."""
    with caller.writing() as session:
        offer = find_in(session, caller, offer_id, Access.WRITE)
        offers.revise_offer(session, offer, body)
        audit(session, caller.principal, "update", "supply_offer", offer.id, version=offer.version)
        return offers.publics(session, [offer])[0]


def delete(caller: Caller, offer_id: str) -> None:
    with caller.writing() as session:
        offer = find_in(session, caller, offer_id, Access.WRITE)
        offers.delete_offer(session, offer)
        audit(session, caller.principal, "delete", "supply_offer", offer.id)


def import_file(
    caller: Caller,
    data: bytes,
    filename: str | None,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    capped: bool = True,
) -> offers.ImportReport:
    """Bulk import (admin), one offer per row, each validated as :func:`create` would; with any bad
    row nothing is written unless ``skip_invalid``. An unreadable file, one holding no record or
    (``capped``: an API call) more rows than one call takes: :class:`~chainmatch.errors.UnreadableInput`.
    The operator's CLI imports a file of any length (``capped=False``)."""
    caller.require(Role.ADMIN)
    rows = offers.read_rows(data, filename)
    cap = caller.settings.max_bulk_records
    if capped and len(rows) > cap:
        raise UnreadableInput(f"一次最多导入 {cap} 条 (at most {cap} rows per call)")
    with caller.writing() as session:
        report = offers.import_offers(
            session, caller.principal, rows, skip_invalid=skip_invalid, dry_run=dry_run
        )
        for offer_id in report.offer_ids:
            audit(session, caller.principal, "import", "supply_offer", offer_id)
    return report
