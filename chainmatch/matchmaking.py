"""Matchmaking (供需对接): every (weak link × willing firm) pair across the leaders of a region,
best first — the invitation list of a 供需对接会 — and its XLSX export.

A willing firm is one with a valid supply offer that covers the item and serves the list's region
(supplies it, or would set up there). Pairs come from the two-sided lists
(:mod:`chainmatch.twosided`), plus willing firms the engine did not retrieve for the item (their
registry profile does not name the product), with the leader's hard requirements applied to both.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, Field
from sqlmodel import Session, col

from chainmatch import offermatch
from chainmatch.chains.schemas import GapListRef
from chainmatch.chains.scope import region_label
from chainmatch.exports import xlsx_append
from chainmatch.gaplists import in_city, items_of, visible_lists
from chainmatch.indexing import IndexService
from chainmatch.keys import Principal
from chainmatch.labels import place
from chainmatch.refresh import ModelStore
from chainmatch.requirements import evaluate
from chainmatch.twosided import (
    Context,
    OfferMark,
    TwoSidedItem,
    context_for,
    mark,
    matching_offer,
    rank_item,
)
from models.apikey import Role
from models.gap import GapItem, GapList
from models.offer import SupplyOffer
from recommender.corpus import FirmMatch, Region
from recommender.text import normalize_key

UNRETRIEVED_SCORE = 0.0


class MatchPair(BaseModel):
    gap_list_id: str
    gap_list_version: int
    leader_firm_id: str
    leader_name: str
    item: str
    firm_id: str
    firm_name: str
    province: str | None
    city: str | None
    side: str = Field(description="local (本地配套) | target (招商目标)")
    score: float
    engine_score: float
    offer: OfferMark
    reasons: list[str]
    contact_name: str | None = Field(None, description="the offer's contact: bureaus and admin only")
    contact_phone: str | None = None
    contact_email: str | None = None


class MatchmakingResponse(BaseModel):
    region: str | None
    model_version: str
    lists: int
    items: int
    pairs: list[MatchPair]


def pairs_for_item(
    ctx: Context,
    item: GapItem,
    ranked: TwoSidedItem,
    all_offers: dict[str, list[SupplyOffer]],
    leader_name: str,
    *,
    with_contact: bool,
) -> list[MatchPair]:
    gap_list = ctx.gap_list
    out: list[MatchPair] = []
    seen: set[str] = set()
    offers_by_id = {o.id: o for lst in all_offers.values() for o in lst}

    def pair(
        firm_id: str,
        name: str,
        province: str | None,
        city: str | None,
        local: bool,
        score: float,
        engine_score: float,
        offer_mark: OfferMark,
        reasons: list[str],
    ) -> MatchPair:
        offer = offers_by_id.get(offer_mark.offer_id)
        return MatchPair(
            gap_list_id=gap_list.id,
            gap_list_version=gap_list.version,
            leader_firm_id=gap_list.leader_firm_id,
            leader_name=leader_name,
            item=item.name,
            firm_id=firm_id,
            firm_name=name,
            province=province,
            city=city,
            side="local" if local else "target",
            score=score,
            engine_score=engine_score,
            offer=offer_mark,
            reasons=reasons,
            contact_name=offer.contact_name if with_contact and offer else None,
            contact_phone=offer.contact_phone if with_contact and offer else None,
            contact_email=offer.contact_email if with_contact and offer else None,
        )

    for local, results in ((False, ranked.investment_targets), (True, ranked.local_suppliers)):
        for r in results:
            seen.add(r.firm_id)
            if r.offer is not None:
                out.append(
                    pair(
                        r.firm_id,
                        r.name,
                        r.province,
                        r.city,
                        local,
                        r.score,
                        r.engine_score,
                        r.offer,
                        r.reasons,
                    )
                )
    # Willing firms the engine did not retrieve for this item.
    done = {d.firm_id for d in ranked.done}
    item_keys = offermatch.ItemKeys.of(item.name, ctx.engine.understand)
    requirement = ctx.requirements.get(item.name)
    for firm_id, firm_offers in all_offers.items():
        if firm_id in seen or firm_id in done or firm_id == gap_list.leader_firm_id:
            continue
        firm = ctx.engine.get_firm(firm_id)
        if firm is None:
            continue
        found = matching_offer(ctx, firm, firm_offers, item_keys)
        if found is None:
            continue
        offer, product, invests = found
        verdict = evaluate(requirement, firm, ctx.region, firm_offers, invests=invests)
        if verdict.excluded:
            continue
        outcome = ctx.outcomes.get((normalize_key(item.name), firm_id))
        if outcome is not None and str(outcome.stage) == "signed":
            continue
        local = ctx.region.contains(firm)
        score = UNRETRIEVED_SCORE + verdict.adjustment
        reasons = [offermatch.offer_reason(offer, product, invests), *verdict.reasons()]
        reasons.append("登记意愿覆盖该产品（企业档案的主营产品中未列出）")
        if ctx.adjust is not None:
            score += ctx.adjust(FirmMatch(firm=firm, score=UNRETRIEVED_SCORE), ctx.region, True)
        out.append(
            pair(
                firm.id,
                firm.name,
                firm.province,
                firm.city,
                local,
                round(min(max(score, 0.0), 1.0), 6),
                0.0,
                mark(offer, product, invests),
                reasons,
            )
        )
    return out


def matchmaking(
    session: Session,
    contexts: Sequence[tuple[Context, Sequence[GapItem], str]],
    *,
    k: int,
    region_label: str | None,
    model_version: str,
    with_contact: bool,
) -> MatchmakingResponse:
    """``contexts``: (context, items, leader name) per gap list the caller may read."""
    all_offers = offermatch.valid_offers_of(session)
    pairs: list[MatchPair] = []
    n_items = 0
    for ctx, items, leader_name in contexts:
        for item in items:
            n_items += 1
            ranked = rank_item(ctx, item, k=k)
            pairs.extend(
                pairs_for_item(ctx, item, ranked, all_offers, leader_name, with_contact=with_contact)
            )
    pairs.sort(key=lambda p: (-p.score, p.leader_firm_id, p.item, p.firm_id))
    return MatchmakingResponse(
        region=region_label, model_version=model_version, lists=len(contexts), items=n_items, pairs=pairs
    )


def matchmaking_for(
    session: Session,
    index: IndexService,
    store: ModelStore,
    principal: Principal,
    *,
    where: Region | None,
    k: int,
    gap_list_id: str | None = None,
) -> tuple[MatchmakingResponse, list[GapListRef]]:
    """:func:`matchmaking` over the gap lists ``principal`` may read: a bureau's or admin's in the
    region ``where`` (resolved and authorised by the service), a leader's own; optionally just
    ``gap_list_id``. Contacts are left out for a leader. Returns the answer and the lists (id,
    version) it read."""
    query = visible_lists(principal)
    label: str | None = None
    if principal.role is not Role.LEADER and where is not None:
        query = query.where(GapList.region_province == where.province)
        if where.city:
            query = query.where(in_city(where.city))
        label = region_label(where)
    if gap_list_id:
        query = query.where(GapList.id == gap_list_id)
    lists = list(session.exec(query.order_by(col(GapList.id))).all())
    model = store.current()
    names = leader_names(session, lists)
    with index.searching() as engine:
        contexts = []
        for gl in lists:
            items = items_of(session, gl)
            ctx = context_for(session, engine, gl, items, model=model, role=principal.role)
            contexts.append((ctx, items, names[gl.id]))
        result = matchmaking(
            session,
            contexts,
            k=k,
            region_label=label,
            model_version=store.version(engine),
            with_contact=principal.role is not Role.LEADER,
        )
    return result, [GapListRef(id=gl.id, version=gl.version) for gl in lists]


SIDE_LABELS = {"local": "本地配套", "target": "招商目标"}
COLUMNS = (
    "序号",
    "链主企业",
    "短板环节",
    "配套企业",
    "所在地",
    "类型",
    "匹配分",
    "可供产品",
    "产能",
    "交货周期（天）",
    "认证",
    "愿意在本地设厂",
    "意愿有效期至",
    "联系人",
    "电话",
    "邮箱",
    "理由",
)


def invitation_xlsx(response: MatchmakingResponse) -> bytes:
    """The 供需对接会 invitation list: one row per pair, every cell through the export guard."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "供需对接邀请名单"
    xlsx_append(sheet, [f"供需对接邀请名单 · {response.region or ''} · 模型 {response.model_version}"])
    xlsx_append(sheet, COLUMNS)
    for n, p in enumerate(response.pairs, start=1):
        o = p.offer
        xlsx_append(
            sheet,
            [
                n,
                p.leader_name,
                p.item,
                p.firm_name,
                place(p.province, p.city),
                SIDE_LABELS.get(p.side, p.side),
                round(p.score, 4),
                o.product,
                o.capacity,
                o.lead_time_days,
                "、".join(o.certifications),
                "是" if o.sets_up_locally else "否",
                o.valid_until.isoformat() if isinstance(o.valid_until, date) else str(o.valid_until),
                p.contact_name,
                p.contact_phone,
                p.contact_email,
                "；".join(p.reasons),
            ],
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def leader_names(session: Session, lists: Sequence[GapList]) -> dict[str, str]:
    from models.firm import Firm

    out = {}
    for gl in lists:
        firm = session.get(Firm, gl.leader_firm_id)
        out[gl.id] = firm.name if firm else gl.leader_firm_id
    return out
