"""The outreach pipeline: track (weak link, candidate) pairs through stages, per region.

Stages: shortlisted → contacted → visited → negotiating → signed, or declined (with a reason) from
any stage before signed. Steps may be skipped (a firm may sign after one visit) and may go back (a
talk that stalled), a declined record may be reopened; ``signed`` is final. Every creation and every
stage change appends an :class:`~models.outreach.OutreachEvent`, the feedback exported as training
data (:func:`feedback_rows`).

Scope is part of every query: a bureau sees and changes only its region's records (a city bureau
only its city's); a record outside it is indistinguishable from one that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from chainmatch.chains.scope import region_key
from chainmatch.chains.store import live_chain
from chainmatch.errors import OutreachConflict, OutreachError, OutreachNotFound
from chainmatch.keys import Principal
from models import mapping
from models.apikey import Role
from models.chain import ChainNode
from models.common import utcnow
from models.firm import Firm
from models.outreach import (
    STAGE_GRADES,
    STAGE_LABELS,
    CandidateKind,
    FeedbackRow,
    OutreachCreate,
    OutreachEvent,
    OutreachEventPublic,
    OutreachPublic,
    OutreachRecord,
    OutreachUpdate,
    Stage,
    StageChange,
)
from recommender.corpus import Region

logger = logging.getLogger(__name__)

PIPELINE: tuple[Stage, ...] = (
    Stage.SHORTLISTED,
    Stage.CONTACTED,
    Stage.VISITED,
    Stage.NEGOTIATING,
    Stage.SIGNED,
    Stage.DECLINED,
)


def _scoped(query: SelectOfScalar[OutreachRecord], principal: Principal) -> SelectOfScalar[OutreachRecord]:
    if principal.role is Role.ADMIN:
        return query
    if principal.role is not Role.BUREAU:
        return query.where(col(OutreachRecord.id).is_(None))  # leaders: nothing
    query = query.where(OutreachRecord.region_province == principal.province)
    if principal.city:
        query = query.where(OutreachRecord.region_city == principal.city)
    return query


def visible_records(principal: Principal) -> SelectOfScalar[OutreachRecord]:
    return _scoped(select(OutreachRecord), principal)


def get_record(session: Session, principal: Principal, record_id: int) -> OutreachRecord:
    record = session.exec(visible_records(principal).where(OutreachRecord.id == record_id)).first()
    if record is None:
        raise OutreachNotFound("跟踪记录不存在 (outreach record not found)")
    return record


def _firm_inside(firm: Firm, region: Region) -> bool:
    if firm.country != "中国" or firm.province != region.province:
        return False
    return region.city is None or firm.city == region.city


def _event(
    record: OutreachRecord, principal: Principal, from_stage: Stage | None, note: str | None
) -> OutreachEvent:
    assert record.id is not None
    return OutreachEvent(
        record_id=record.id,
        chain_id=record.chain_id,
        node_key=record.node_key,
        product=record.product,
        for_product=record.for_product,
        firm_id=record.firm_id,
        kind=record.kind,
        region_province=record.region_province,
        region_city=record.region_city,
        from_stage=from_stage,
        to_stage=record.stage,
        reason=record.decline_reason if record.stage is Stage.DECLINED else None,
        note=note[:2000] if note else None,
        rank=record.rank,
        score=record.score,
        key_id=principal.key_id or None,
    )


def find_existing(
    session: Session, region: Region, chain_id: str, node_id: str, product: str, firm_id: str
) -> OutreachRecord | None:
    return session.exec(
        select(OutreachRecord).where(
            OutreachRecord.region_key == region_key(region),
            OutreachRecord.chain_id == chain_id,
            OutreachRecord.node_key == node_id,
            OutreachRecord.product == product,
            OutreachRecord.firm_id == firm_id,
        )
    ).first()


def create_record(
    session: Session, principal: Principal, body: OutreachCreate, region: Region
) -> OutreachRecord:
    """Track ``body``'s firm for its weak link in ``region`` (resolved and authorised by the service)."""
    if principal.role is Role.LEADER:
        raise OutreachNotFound("跟踪记录仅供招商局使用 (outreach is for bureaus)")
    chain = live_chain(session, body.chain_id)
    node = session.exec(
        select(ChainNode).where(ChainNode.chain_id == chain.id, ChainNode.key == body.node_id)
    ).first()
    if node is None:
        raise OutreachError(f"产业链 {chain.id} 没有环节 {body.node_id} (no such node in the chain)")
    firm = session.get(Firm, body.firm_id)
    if firm is None or firm.deleted_at is not None:
        raise OutreachError(f"企业 {body.firm_id} 不存在 (firm not found)")
    kind = CandidateKind.LOCAL if _firm_inside(firm, region) else CandidateKind.TARGET
    if body.kind is not None and body.kind is not kind:
        where = "区域内" if kind is CandidateKind.LOCAL else "区域外"
        raise OutreachError(
            f"{firm.name} 位于{where}，应为 {kind.value} (the firm is {kind.value} for this region)"
        )
    if body.stage is Stage.DECLINED and not body.reason:
        raise OutreachError("放弃需填写原因 reason (declining needs a reason)")
    existing = find_existing(session, region, chain.id, node.key, body.product, firm.id)
    if existing is not None:
        raise OutreachConflict(
            f"该候选已在跟踪中（记录 {existing.id}）(already tracked: record {existing.id})"
        )
    now = utcnow()
    record = OutreachRecord(
        chain_id=chain.id,
        chain_version=chain.version,
        node_key=node.key,
        product=body.product,
        for_product=body.for_product,
        firm_id=firm.id,
        kind=kind,
        region_province=region.province,
        region_city=region.city,
        region_key=region_key(region),
        stage=body.stage,
        decline_reason=body.reason if body.stage is Stage.DECLINED else None,
        owner=body.owner,
        notes=body.notes,
        due_on=body.due_on,
        rank=body.rank,
        score=body.score,
        created_by_key_id=principal.key_id or None,
        created_at=now,
        updated_at=now,
        stage_changed_at=now,
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent shortlist of the same candidate
        session.rollback()
        raise OutreachConflict("该候选已在跟踪中 (already tracked)") from exc
    session.add(_event(record, principal, None, body.notes))
    session.flush()
    return record


def update_record(session: Session, record: OutreachRecord, body: OutreachUpdate) -> OutreachRecord:
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(record, name, value)
    if changes:
        record.version += 1
        record.updated_at = utcnow()
        session.add(record)
        session.flush()
    return record


def change_stage(
    session: Session, principal: Principal, record: OutreachRecord, change: StageChange
) -> OutreachRecord:
    if change.expected_version is not None and change.expected_version != record.version:
        raise OutreachConflict(
            f"记录已被他人修改（当前版本 {record.version}），请刷新后重试 (changed meanwhile: version {record.version})"
        )
    if change.stage is record.stage:
        raise OutreachConflict(
            f"已处于「{STAGE_LABELS[record.stage]}」阶段 (already in stage {record.stage.value})"
        )
    if record.stage is Stage.SIGNED:
        raise OutreachConflict("已签约的记录不能再变更阶段 (a signed record is final)")
    if change.stage is Stage.DECLINED and not change.reason:
        raise OutreachError("放弃需填写原因 reason (declining needs a reason)")
    previous = record.stage
    now = utcnow()
    record.stage = change.stage
    record.decline_reason = change.reason if change.stage is Stage.DECLINED else None
    record.version += 1
    record.updated_at = record.stage_changed_at = now
    if change.note:
        stamp = f"[{now:%Y-%m-%d} {STAGE_LABELS[change.stage]}] {change.note}"
        record.notes = f"{record.notes}\n{stamp}" if record.notes else stamp
        record.notes = record.notes[-4000:]
    session.add(record)
    session.flush()
    session.add(_event(record, principal, previous, change.note))
    session.flush()
    logger.info("outreach %s: %s → %s", record.id, previous.value, change.stage.value)
    return record


def to_public(record: OutreachRecord, firm: Firm | None) -> OutreachPublic:
    return mapping.to_public(
        OutreachPublic,
        record,
        node_id=record.node_key,
        firm_name=firm.name if firm else record.firm_id,
        firm_province=firm.province if firm else None,
        firm_city=firm.city if firm else None,
        stage_label=STAGE_LABELS[record.stage],
    )


def publics(session: Session, records: Sequence[OutreachRecord]) -> list[OutreachPublic]:
    ids = list({r.firm_id for r in records})
    firms = {f.id: f for f in session.exec(select(Firm).where(col(Firm.id).in_(ids)))} if ids else {}
    return [to_public(r, firms.get(r.firm_id)) for r in records]


def list_records(
    session: Session,
    principal: Principal,
    *,
    chain_id: str | None = None,
    node_id: str | None = None,
    stage: Stage | None = None,
    kind: CandidateKind | None = None,
    region: Region | None = None,
    after_id: int | None = None,
    limit: int = 200,
) -> list[OutreachRecord]:
    query = visible_records(principal)
    if chain_id:
        query = query.where(OutreachRecord.chain_id == chain_id)
    if node_id:
        query = query.where(OutreachRecord.node_key == node_id)
    if stage:
        query = query.where(OutreachRecord.stage == stage)
    if kind:
        query = query.where(OutreachRecord.kind == kind)
    if region is not None:
        query = query.where(OutreachRecord.region_province == region.province)
        if region.city:
            query = query.where(OutreachRecord.region_city == region.city)
    if after_id is not None:
        query = query.where(col(OutreachRecord.id) > after_id)
    return list(session.exec(query.order_by(col(OutreachRecord.id)).limit(limit)))


def events_of(session: Session, record: OutreachRecord) -> list[OutreachEventPublic]:
    events = session.exec(
        select(OutreachEvent).where(OutreachEvent.record_id == record.id).order_by(col(OutreachEvent.id))
    )
    return [OutreachEventPublic.model_validate(e, from_attributes=True) for e in events]


def feedback_rows(
    session: Session, principal: Principal, *, chain_id: str | None = None
) -> list[FeedbackRow]:
    """Every stage change in the caller's scope as a labelled (query, firm) pair, oldest first."""
    query = select(OutreachEvent).order_by(col(OutreachEvent.id))
    if principal.role is Role.BUREAU:
        query = query.where(OutreachEvent.region_province == principal.province)
        if principal.city:
            query = query.where(OutreachEvent.region_city == principal.city)
    elif principal.role is not Role.ADMIN:
        return []
    if chain_id:
        query = query.where(OutreachEvent.chain_id == chain_id)
    out = []
    for e in session.exec(query):
        assert e.id is not None
        out.append(
            FeedbackRow(
                event_id=e.id,
                record_id=e.record_id,
                at=e.at,
                query=e.product,
                for_product=e.for_product,
                chain_id=e.chain_id,
                node_id=e.node_key,
                region_province=e.region_province,
                region_city=e.region_city,
                scope="outside" if e.kind is CandidateKind.TARGET else "inside",
                firm_id=e.firm_id,
                stage=e.to_stage,
                previous_stage=e.from_stage,
                grade=STAGE_GRADES[e.to_stage],
                reason=e.reason,
                rank=e.rank,
                score=e.score,
            )
        )
    return out
