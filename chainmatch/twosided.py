"""Both sides of the match: the engine's candidates for a weak link, with the leader's requirements,
the firms' supply offers and the region's outreach outcomes applied — in the service layer, on the
engine's candidates, so the offline ranking itself is untouched.

For each item the engine is asked for more candidates than are shown (``pool``), then:

1. signed (item, firm) pairs leave the lists and are shown as done;
2. hard requirements leave candidates out, counted per reason ("3 家企业被排除：无 IATF 16949");
3. the score moves: + a valid matching offer (``OFFER_BONUS``: an otherwise equal firm without
   one ranks below), ± soft requirements, + wished-for firms, − a recent decline, ± the
   deployment's refreshed ranker (:mod:`chainmatch.refresh`); each with its reason;
4. the lists are re-sorted and cut to k.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session

from chainmatch import offermatch
from chainmatch.matching import item_query, understood_as
from chainmatch.outcomes import DECLINE_PENALTY, Outcome, outcomes_in
from chainmatch.refresh import RefreshModel
from chainmatch.requirements import by_item, evaluate, exclusion_summary, requirements_of
from chainmatch.requirements import to_public as requirement_public
from models.apikey import Role
from models.gap import GapItem, GapItemPublic, GapList, RegionIn
from models.matching import MatchResult, UnderstoodAs
from models.offer import SupplyOffer
from models.outreach import Stage
from models.requirement import GapRequirement, RequirementPublic
from recommender.corpus import FirmDoc, FirmMatch, Region
from recommender.engine import Recommender
from recommender.text import normalize_key

OFFER_BONUS = 0.05
POOL_FACTOR = 3
POOL_EXTRA = 20

# (candidate, region, has a matching offer) → score change from the deployment's refreshed ranker.
Adjust = Callable[[FirmMatch, Region, bool], float]


class OfferMark(BaseModel):
    """The firm's valid supply offer that covers the item (已登记配套意愿)."""

    offer_id: str
    product: str = Field(description="the offered product that covers the item")
    capacity: str | None
    annual_capacity_cny: float | None
    lead_time_days: int | None
    certifications: list[str]
    sets_up_locally: bool = Field(description="willing to set up in the list's region")
    valid_until: date


class TwoSidedResult(MatchResult):
    engine_score: float = Field(
        description="the offline ranker's score, before offers, requirements, outcomes"
    )
    offer: OfferMark | None = None
    requirements_met: list[str] = Field(default_factory=list)
    declined: bool = Field(False, description="declined this item recently: lowered")


class DonePair(BaseModel):
    firm_id: str
    name: str
    stage: str = "signed"
    record_id: int
    at: datetime


class TwoSidedItem(BaseModel):
    item: GapItemPublic
    understood_as: UnderstoodAs
    requirement: RequirementPublic | None
    investment_targets: list[TwoSidedResult]
    local_suppliers: list[TwoSidedResult]
    excluded: list[str] = Field(description="how many candidates each hard requirement left out")
    done: list[DonePair] = Field(description="signed pairs: done, not recommended again")


class TwoSidedRecommendations(BaseModel):
    gap_list_id: str
    version: int
    region: RegionIn
    k: int
    model_version: str
    items: list[TwoSidedItem]


@dataclass
class Side:
    """One ranked side of one item, before the cut."""

    results: list[tuple[float, TwoSidedResult]] = field(default_factory=list)


@dataclass
class Context:
    session: Session
    engine: Recommender
    gap_list: GapList
    requirements: dict[str, GapRequirement]
    outcomes: dict[tuple[str, str], Outcome]
    adjust: Adjust | None = None
    show_decline_reasons: bool = True
    _offers: dict[str, list[SupplyOffer]] = field(default_factory=dict)

    @property
    def region(self) -> Region:
        return Region(self.gap_list.region_province, self.gap_list.region_city)

    def offers_of(self, firm_ids: Sequence[str]) -> dict[str, list[SupplyOffer]]:
        missing = [f for f in firm_ids if f not in self._offers]
        if missing:
            found = offermatch.valid_offers_of(self.session, missing)
            for f in missing:
                self._offers[f] = found.get(f, [])
        return {f: self._offers[f] for f in firm_ids}


def context(
    session: Session,
    engine: Recommender,
    gap_list: GapList,
    items: Sequence[GapItem],
    *,
    adjust: Adjust | None = None,
    show_decline_reasons: bool = True,
) -> Context:
    region = Region(gap_list.region_province, gap_list.region_city)
    return Context(
        session,
        engine,
        gap_list,
        by_item(requirements_of(session, gap_list)),
        outcomes_in(session, region, [i.name for i in items]),
        adjust,
        show_decline_reasons,
    )


def context_for(
    session: Session,
    engine: Recommender,
    gap_list: GapList,
    items: Sequence[GapItem],
    *,
    model: RefreshModel | None,
    role: Role,
) -> Context:
    """:func:`context` as a caller of ``role`` sees it, with the deployment's refreshed ranker
    ``model`` (if any) applied: a leader is not shown why firms declined."""
    return context(
        session,
        engine,
        gap_list,
        items,
        adjust=model.adjust if model else None,
        show_decline_reasons=role is not Role.LEADER,
    )


def matching_offer(
    ctx: Context, firm: FirmDoc, firm_offers: Sequence[SupplyOffer], item_keys: offermatch.ItemKeys
) -> tuple[SupplyOffer, str, bool] | None:
    for offer in firm_offers:
        product = offermatch.offered_product(offer, item_keys, ctx.engine.understand)
        if product is None:
            continue
        ok, invests = offermatch.serves(offer, firm, ctx.region, ctx.gap_list.leader_firm_id)
        if ok:
            return offer, product, invests
    return None


def mark(offer: SupplyOffer, product: str, invests: bool) -> OfferMark:
    return OfferMark(
        offer_id=offer.id,
        product=product,
        capacity=offer.capacity,
        annual_capacity_cny=offer.annual_capacity_cny,
        lead_time_days=offer.lead_time_days,
        certifications=list(offer.certifications),
        sets_up_locally=invests,
        valid_until=offer.valid_until,
    )


def judge(
    ctx: Context,
    item: GapItem,
    item_keys: offermatch.ItemKeys,
    match: FirmMatch,
    firm_offers: Sequence[SupplyOffer],
    excluded: dict[str, int],
) -> tuple[float, TwoSidedResult] | None:
    """The candidate with every effect applied, or None when a hard requirement leaves it out."""
    firm = match.firm
    found = matching_offer(ctx, firm, firm_offers, item_keys)
    invests = found[2] if found else False
    verdict = evaluate(ctx.requirements.get(item.name), firm, ctx.region, firm_offers, invests=invests)
    if verdict.excluded:
        for label in verdict.excluded:
            excluded[label] = excluded.get(label, 0) + 1
        return None
    score = float(match.score) + verdict.adjustment
    reasons: list[str] = []
    offer_mark = None
    if found is not None:
        offer, product, invests = found
        score += OFFER_BONUS
        reasons.append(offermatch.offer_reason(offer, product, invests))
        offer_mark = mark(offer, product, invests)
    reasons.extend(verdict.reasons())
    outcome = ctx.outcomes.get((normalize_key(item.name), firm.id))
    declined = outcome is not None and outcome.stage is Stage.DECLINED
    if declined:
        assert outcome is not None
        score -= DECLINE_PENALTY
        reasons.append(outcome.declined_reason(with_reason=ctx.show_decline_reasons))
    if ctx.adjust is not None:
        score += ctx.adjust(match, ctx.region, found is not None)
    base = MatchResult.from_match(match)
    result = TwoSidedResult(
        **{**base.model_dump(), "reasons": reasons + base.reasons},
        engine_score=base.score,
        offer=offer_mark,
        requirements_met=verdict.met,
        declined=declined,
    )
    result.score = round(min(max(score, 0.0), 1.0), 6)
    return score, result


def rank_item(ctx: Context, item: GapItem, *, k: int, min_score: float | None = None) -> TwoSidedItem:
    pool = min(ctx.engine.config.max_k, k * POOL_FACTOR + POOL_EXTRA)
    query = item_query(item, ctx.gap_list, k=pool, min_score=min_score)
    understood = understood_as(ctx.engine, query)
    targets, local = ctx.engine.recommend(query)
    firm_offers = ctx.offers_of([m.firm.id for m in (*targets, *local)])
    item_keys = offermatch.ItemKeys.of(item.name, ctx.engine.understand)
    key = normalize_key(item.name)
    excluded: dict[str, int] = {}
    done: list[DonePair] = []
    sides: list[list[TwoSidedResult]] = []
    for matches in (targets, local):
        ranked: list[tuple[float, TwoSidedResult]] = []
        for match in matches:
            outcome = ctx.outcomes.get((key, match.firm.id))
            if outcome is not None and outcome.stage is Stage.SIGNED:
                done.append(
                    DonePair(
                        firm_id=match.firm.id,
                        name=match.firm.name,
                        record_id=outcome.record_id,
                        at=outcome.at,
                    )
                )
                continue
            judged = judge(ctx, item, item_keys, match, firm_offers[match.firm.id], excluded)
            if judged is not None:
                ranked.append(judged)
        ranked.sort(key=lambda pair: -pair[0])
        sides.append([r for _, r in ranked[:k]])
    requirement = ctx.requirements.get(item.name)
    return TwoSidedItem(
        item=GapItemPublic.model_validate(item, from_attributes=True),
        understood_as=understood,
        requirement=requirement_public(requirement) if requirement else None,
        investment_targets=sides[0],
        local_suppliers=sides[1],
        excluded=exclusion_summary(excluded),
        done=done,
    )


def recommend_both_sides(
    ctx: Context, items: Sequence[GapItem], *, k: int, model_version: str, min_score: float | None = None
) -> TwoSidedRecommendations:
    gap_list = ctx.gap_list
    return TwoSidedRecommendations(
        gap_list_id=gap_list.id,
        version=gap_list.version,
        region=RegionIn(province=gap_list.region_province, city=gap_list.region_city),
        k=k,
        model_version=model_version,
        items=[rank_item(ctx, item, k=k, min_score=min_score) for item in items],
    )


def offer_marks(
    session: Session,
    understand: offermatch.Understand,
    region: Region,
    lists: Sequence[tuple[str, Sequence[Any]]],
) -> dict[tuple[str, str], str]:
    """(product, firm id) → the offer line, for candidates shown under a product (a chain's weak
    link: ``lists`` = (product, candidates with ``firm_id``, ``province``, ``country``)), whose firm
    has a valid offer covering the product and serving ``region`` (offers aimed at named leaders
    only are left out here: no leader is in view)."""
    firm_ids = [m.firm_id for _, results in lists for m in results]
    by_firm = offermatch.valid_offers_of(session, firm_ids)
    out: dict[tuple[str, str], str] = {}
    for product, results in lists:
        keys = offermatch.ItemKeys.of(product, understand)
        for m in results:
            for offer in by_firm.get(m.firm_id, []):
                covered = offermatch.offered_product(offer, keys, understand)
                if covered is None:
                    continue
                ok, invests = offermatch.serves(offer, m, region, None)
                if ok:
                    out[(product, m.firm_id)] = offermatch.offer_reason(offer, covered, invests)
                    break
    return out
