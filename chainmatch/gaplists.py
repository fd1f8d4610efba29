"""Gap lists: create, revise (new version, old one kept), delete, and who may see which.

Visibility is part of every query (never a filter applied after loading), so a list outside the
caller's scope is indistinguishable from one that does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from sqlalchemy import ColumnElement, delete, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from chainmatch.errors import GapListError
from chainmatch.keys import Principal
from models.apikey import Role
from models.common import utcnow
from models.firm import Firm
from models.gap import (
    GapItem,
    GapItemCreate,
    GapList,
    GapListPublic,
    GapListRevision,
    RegionIn,
)
from models.mapping import to_public
from models.regions import normalize_city, normalize_province
from recommender.understanding import Understanding

# ``Recommender.understand``: how a weak-link text is read (product, qualifiers, sourcing facts …).
Understand = Callable[[str, str | None], Understanding]

# The item fields that sourcing facts stated in the text fill when the submitter left them empty.
FILLED_FROM_TEXT = ("current_source_country", "import_share", "annual_demand_cny")
MAX_COUNTRY_CHARS = 60  # GapItemBase.current_source_country


def in_city(city: str) -> ColumnElement[bool]:
    """Lists submitted to ``city`` or to its whole province (no city): what concerns the city."""
    return or_(col(GapList.region_city).is_(None), col(GapList.region_city) == city)


def visible_lists(principal: Principal) -> SelectOfScalar[GapList]:
    """The lists a caller may read: admin all; a leader its own; a bureau those submitted in its
    region — a city bureau also sees the lists submitted to its whole province (the default
    region of a list), not those of other cities."""
    query = select(GapList).where(col(GapList.deleted_at).is_(None))
    if principal.role is Role.ADMIN:
        return query
    if principal.role is Role.LEADER:
        return query.where(GapList.leader_firm_id == principal.firm_id)
    query = query.where(GapList.region_province == principal.province)
    if principal.city:
        query = query.where(in_city(principal.city))
    return query


def get_visible(session: Session, principal: Principal, list_id: str) -> GapList | None:
    return session.exec(visible_lists(principal).where(GapList.id == list_id)).first()


def items_of(session: Session, gap_list: GapList) -> list[GapItem]:
    return list(
        session.exec(
            select(GapItem).where(GapItem.gap_list_id == gap_list.id).order_by(col(GapItem.position))
        )
    )


def list_public(session: Session, gap_list: GapList) -> GapListPublic:
    """The list as the API shows it, with its items in order."""
    return to_public(GapListPublic, gap_list, items=items_of(session, gap_list))


def _region(session: Session, leader_firm_id: str, region: RegionIn | None) -> tuple[str, str | None]:
    if region is not None:
        province = normalize_province(region.province)
        assert province is not None
        return province, normalize_city(region.city)
    leader = session.get(Firm, leader_firm_id)
    if leader is None or not leader.province:
        raise GapListError(
            f"链主企业 {leader_firm_id} 没有所在省份，请在 region 中指定 (the leader has no province: give a region)"
        )
    return leader.province, None


def item_text(item: GapItemCreate | GapItem) -> tuple[str, str | None]:
    """The text a weak-link item is read from: its name, with description and spec as context
    (the same text the engine is queried with, :func:`chainmatch.matching.item_query`)."""
    return item.name, " ".join(x for x in (item.description, item.spec) if x) or None


def facts_from_text(item: GapItemCreate, understanding: Understanding) -> dict[str, object]:
    """The empty fields of ``item`` that the text fills: the first source country named, the
    import share and the yearly purchases stated. Fields the submitter set are never replaced."""
    facts: dict[str, object] = {}
    sourcing = understanding.sourcing
    if item.current_source_country is None and sourcing.countries:
        country = sourcing.countries[0].strip()
        if country and len(country) <= MAX_COUNTRY_CHARS:
            facts["current_source_country"] = country
    share = sourcing.import_share
    if item.import_share is None and share is not None and 0 <= share <= 1:
        facts["import_share"] = float(share)
    demand = understanding.annual_demand_cny
    if item.annual_demand_cny is None and demand is not None and demand >= 0:
        facts["annual_demand_cny"] = float(demand)
    return facts


def fill_from_text(
    item: GapItemCreate, understand: Understand
) -> tuple[GapItemCreate, Understanding, list[str]]:
    """``item`` with its empty sourcing fields filled from its own text (name, description, spec),
    the reading, and the names of the fields filled. The name stays as the submitter wrote it; a
    stated fact the item's own validation refuses (an amount beyond the cap …) is left out."""
    understanding = understand(*item_text(item))
    filled = item
    names: list[str] = []
    for name, value in facts_from_text(item, understanding).items():
        try:
            filled = GapItemCreate.model_validate({**filled.model_dump(), name: value})
        except ValidationError:
            continue
        names.append(name)
    return filled, understanding, names


def fill_items(items: Sequence[GapItemCreate], understand: Understand | None) -> list[GapItemCreate]:
    if understand is None:
        return list(items)
    return [fill_from_text(item, understand)[0] for item in items]


def _replace_items(session: Session, list_id: str, items: Sequence[GapItemCreate]) -> None:
    session.exec(delete(GapItem).where(col(GapItem.gap_list_id) == list_id))
    for position, item in enumerate(items):
        session.add(GapItem(gap_list_id=list_id, position=position, **item.model_dump()))


def create_list(
    session: Session,
    *,
    leader_firm_id: str,
    title: str,
    region: RegionIn | None,
    items: Sequence[GapItemCreate],
    understand: Understand | None = None,
) -> GapList:
    """``understand``: read each item's text and fill its empty sourcing fields (see
    :func:`fill_from_text`); None stores the items as given."""
    leader = session.get(Firm, leader_firm_id)
    if leader is None or leader.deleted_at is not None:
        raise GapListError(f"链主企业 {leader_firm_id} 不存在 (leader firm not found)")
    province, city = _region(session, leader_firm_id, region)
    gap_list = GapList(
        id=f"gl_{secrets.token_urlsafe(12)}",
        leader_firm_id=leader_firm_id,
        title=title,
        region_province=province,
        region_city=city,
    )
    session.add(gap_list)
    session.flush()
    _replace_items(session, gap_list.id, fill_items(items, understand))
    session.flush()
    return gap_list


def revise_list(
    session: Session,
    gap_list: GapList,
    *,
    title: str,
    region: RegionIn | None,
    items: Sequence[GapItemCreate],
    understand: Understand | None = None,
) -> GapList:
    """Keep the current version as a revision, then replace title, region and items (filled from
    their text as in :func:`create_list`)."""
    snapshot = list_public(session, gap_list).model_dump(mode="json")
    session.add(GapListRevision(gap_list_id=gap_list.id, version=gap_list.version, snapshot=snapshot))
    if region is not None:
        gap_list.region_province, gap_list.region_city = _region(session, gap_list.leader_firm_id, region)
    gap_list.title = title
    gap_list.version += 1
    gap_list.updated_at = utcnow()
    session.add(gap_list)
    _replace_items(session, gap_list.id, fill_items(items, understand))
    session.flush()
    return gap_list


def delete_list(session: Session, gap_list: GapList) -> None:
    gap_list.deleted_at = utcnow()
    session.add(gap_list)
