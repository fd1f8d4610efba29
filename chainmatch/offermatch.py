"""Matching a supply offer (配套意愿) to a weak-link item: which offered product covers it, whether the
offer serves a region and leader, the valid offers by firm, and the reason line a match shows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from models.common import utcnow
from models.offer import SupplyOffer
from recommender.corpus import Region
from recommender.text import normalize_key
from recommender.understanding import Understanding

Understand = Callable[[str, str | None], Understanding]


def today() -> date:
    return utcnow().date()


def _keys(text: str, understand: Understand | None) -> set[str]:
    keys = {normalize_key(text)}
    if understand is not None:
        u = understand(text, None)
        if u.product:
            keys.add(normalize_key(u.product))
        keys.update(normalize_key(s) for s in u.synonyms)
    keys.discard("")
    return keys


@dataclass(frozen=True)
class ItemKeys:
    """What a weak-link item is, for matching offers: the keys of its product and synonyms."""

    keys: frozenset[str]

    @classmethod
    def of(cls, name: str, understand: Understand | None) -> ItemKeys:
        return cls(frozenset(_keys(name, understand)))


def offered_product(offer: SupplyOffer, item: ItemKeys, understand: Understand | None) -> str | None:
    """The product of ``offer`` that covers the item, or None: the same product (read like a weak
    link, synonyms included), or one name containing the other (涡轮分子泵 ⊃ 分子泵)."""
    read = [(text, _keys(text, understand)) for text in offer.products]
    for text, keys in read:
        if keys & item.keys:
            return text
    for text, keys in read:
        for a in keys:
            for b in item.keys:
                if len(a) >= 2 and len(b) >= 2 and (a in b or b in a):
                    return text
    return None


def serves(offer: SupplyOffer, firm: Any, region: Region, leader_id: str | None) -> tuple[bool, bool]:
    """(whether the offer is for this region and leader, whether it would set up locally).
    ``firm``: anything with ``country`` and ``province`` (a Firm, a FirmDoc, a MatchResult)."""
    if offer.target_leader_ids and leader_id not in offer.target_leader_ids:
        return False, False
    local_firm = (
        firm is not None and getattr(firm, "country", None) == "中国" and firm.province == region.province
    )
    supplies = not offer.supply_provinces or region.province in offer.supply_provinces
    invests = offer.invest_locally and (
        not offer.invest_provinces or region.province in offer.invest_provinces
    )
    if local_firm:
        return supplies, False
    return supplies or invests, invests


def valid_offers_of(session: Session, firm_ids: Iterable[str] | None = None) -> dict[str, list[SupplyOffer]]:
    """Valid offers by firm (of ``firm_ids``, or all)."""
    query = select(SupplyOffer).where(
        col(SupplyOffer.deleted_at).is_(None), col(SupplyOffer.valid_until) >= today()
    )
    if firm_ids is not None:
        wanted = list(set(firm_ids))
        if not wanted:
            return {}
        query = query.where(col(SupplyOffer.firm_id).in_(wanted))
    out: dict[str, list[SupplyOffer]] = {}
    for offer in session.exec(query.order_by(col(SupplyOffer.updated_at).desc())):
        out.setdefault(offer.firm_id, []).append(offer)
    return out


def offer_reason(offer: SupplyOffer, product: str, invests: bool) -> str:
    """已登记配套意愿：可供 涡轮分子泵，产能 年产5000台，交货 30 天，愿意在本地设厂（有效期至 2027-06-30）"""
    parts = [f"已登记配套意愿：可供 {product}"]
    if offer.capacity:
        parts.append(f"产能 {offer.capacity}")
    if offer.lead_time_days is not None:
        parts.append(f"交货 {offer.lead_time_days} 天")
    if offer.certifications:
        parts.append("认证 " + "、".join(offer.certifications))
    if invests:
        parts.append("愿意在本地设厂")
    return "，".join(parts) + f"（有效期至 {offer.valid_until.isoformat()}）"
