"""The outreach pipeline (招商跟踪): bureaus move (weak link, candidate) pairs through stages; every
change is kept as feedback. Scoped to the caller's region: a record outside it is indistinguishable
from one that does not exist (404)."""

from __future__ import annotations

from chainmatch.chains import outreach as pipeline
from chainmatch.chains.scope import region_key
from chainmatch.services.context import Caller
from chainmatch.services.regions import resolve_region
from models.apikey import Role
from models.matching import Page
from models.outreach import (
    CandidateKind,
    FeedbackRow,
    OutreachCreate,
    OutreachEventPublic,
    OutreachPublic,
    OutreachUpdate,
    Stage,
    StageChange,
)
from recommender.corpus import Region

OUTREACH_ROLES = (Role.BUREAU, Role.ADMIN)


def create_record(caller: Caller, body: OutreachCreate) -> OutreachPublic:
    """Start tracking a candidate for a weak link; ``kind`` follows from where the firm is; 409
    when it is tracked already in this region."""
    caller.require(*OUTREACH_ROLES)
    with caller.writing() as session:
        region = resolve_region(
            caller.principal,
            body.region.province if body.region else None,
            body.region.city if body.region else None,
        )
        record = pipeline.create_record(session, caller.principal, body, region)
        return pipeline.publics(session, [record])[0]


def list_records(
    caller: Caller,
    *,
    size: int,
    chain_id: str | None = None,
    node_id: str | None = None,
    stage: Stage | None = None,
    kind: CandidateKind | None = None,
    region: str | None = None,
    after_id: int | None = None,
) -> Page[OutreachPublic]:
    """One page (``size``) of the records of the caller's region (admin: all, or ``region``),
    oldest first, after record ``after_id``."""
    caller.require(*OUTREACH_ROLES)
    where = resolve_region(caller.principal, region) if region is not None else None
    with caller.reading() as session:
        records = pipeline.list_records(
            session,
            caller.principal,
            chain_id=chain_id,
            node_id=node_id,
            stage=stage,
            kind=kind,
            region=where,
            after_id=after_id,
            limit=size + 1,
        )
        more = len(records) > size
        records = records[:size]
        items = pipeline.publics(session, records)
    return Page[OutreachPublic](items=items, next_cursor=str(records[-1].id) if more and records else None)


def records_at(
    caller: Caller,
    region: Region,
    *,
    chain_id: str,
    node_id: str,
    product: str | None = None,
    limit: int = 1000,
) -> list[OutreachPublic]:
    """The records of a chain node tracked for exactly ``region`` (a province's, not its cities'),
    oldest first; only ``product``'s when given. The first ``limit`` records of the node in the
    caller's scope are looked at."""
    caller.require(*OUTREACH_ROLES)
    key = region_key(region)
    with caller.reading() as session:
        records = pipeline.list_records(
            session, caller.principal, chain_id=chain_id, node_id=node_id, region=region, limit=limit
        )
        kept = [r for r in records if r.region_key == key and (product is None or r.product == product)]
        return pipeline.publics(session, kept)


def feedback(caller: Caller, *, chain_id: str | None = None) -> list[FeedbackRow]:
    """Every stage change in the caller's region as a labelled (query, firm) pair, oldest first."""
    caller.require(*OUTREACH_ROLES)
    with caller.reading() as session:
        return pipeline.feedback_rows(session, caller.principal, chain_id=chain_id)


def read_record(caller: Caller, record_id: int) -> OutreachPublic:
    caller.require(*OUTREACH_ROLES)
    with caller.reading() as session:
        return pipeline.publics(session, [pipeline.get_record(session, caller.principal, record_id)])[0]


def update_record(caller: Caller, record_id: int, body: OutreachUpdate) -> OutreachPublic:
    """Owner, notes, due date; fields left out are kept."""
    caller.require(*OUTREACH_ROLES)
    with caller.writing() as session:
        record = pipeline.get_record(session, caller.principal, record_id)
        pipeline.update_record(session, record, body)
        return pipeline.publics(session, [record])[0]


def change_stage(caller: Caller, record_id: int, change: StageChange) -> OutreachPublic:
    """Move to another stage (declined needs a reason; signed is final; ``expected_version``
    guards against concurrent edits with 409). Stored as feedback."""
    caller.require(*OUTREACH_ROLES)
    with caller.writing() as session:
        record = pipeline.get_record(session, caller.principal, record_id)
        pipeline.change_stage(session, caller.principal, record, change)
        return pipeline.publics(session, [record])[0]


def record_events(caller: Caller, record_id: int) -> list[OutreachEventPublic]:
    """The record's history, oldest first."""
    caller.require(*OUTREACH_ROLES)
    with caller.reading() as session:
        return pipeline.events_of(session, pipeline.get_record(session, caller.principal, record_id))
