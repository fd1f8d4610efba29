"""The outreach pipeline (招商跟踪): bureaus move (weak link, candidate) pairs through stages; every
change is kept as feedback and exported as training data. Scoped to the bureau's region."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from sqlmodel import Session

from api.deps import (
    BureauOrAdminDep,
    OutreachRecordDep,
    PageSizeDep,
    ReadableOutreachRecordDep,
    ReadSessionDep,
    SessionDep,
)
from api.downloads import attachment
from api.errors import ErrorBody
from chainmatch.chains.outreach import (
    change_stage,
    create_record,
    events_of,
    feedback_rows,
    list_records,
    publics,
    to_public,
    update_record,
)
from chainmatch.chains.scope import resolve_region
from chainmatch.exports import csv_bytes
from models.firm import Firm
from models.matching import Page
from models.outreach import (
    CandidateKind,
    FeedbackRow,
    OutreachCreate,
    OutreachEventPublic,
    OutreachPublic,
    OutreachRecord,
    OutreachUpdate,
    Stage,
    StageChange,
)

router = APIRouter(prefix="/v1/outreach", tags=["outreach"])

CONFLICT = {
    "model": ErrorBody,
    "description": "tracked already, changed meanwhile, or the move is not allowed",
}


def _public(session: Session, record: OutreachRecord) -> OutreachPublic:
    return to_public(record, session.get(Firm, record.firm_id))


@router.post(
    "", response_model=OutreachPublic, status_code=status.HTTP_201_CREATED, responses={409: CONFLICT}
)
def create(body: OutreachCreate, principal: BureauOrAdminDep, session: SessionDep) -> OutreachPublic:
    """Start tracking a candidate for a weak link (default stage: shortlisted). ``kind`` follows from
    where the firm is; 409 when the candidate is tracked already in this region."""
    record = create_record(session, principal, body)
    public = _public(session, record)
    session.commit()
    return public


@router.get("", response_model=Page[OutreachPublic])
def list_all(
    principal: BureauOrAdminDep,
    session: ReadSessionDep,
    size: PageSizeDep,
    chain_id: Annotated[str | None, Query(max_length=64)] = None,
    node_id: Annotated[str | None, Query(max_length=64)] = None,
    stage: Stage | None = None,
    kind: CandidateKind | None = None,
    region: Annotated[str | None, Query(max_length=40, description="admin: filter by province")] = None,
    cursor: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9]{1,9}$")] = None,
) -> Page[OutreachPublic]:
    """The records of the caller's region (admin: all, or ``region``), oldest first."""
    where = None
    if region is not None:
        where = resolve_region(principal, region)
    records = list_records(
        session,
        principal,
        chain_id=chain_id,
        node_id=node_id,
        stage=stage,
        kind=kind,
        region=where,
        after_id=int(cursor) if cursor else None,
        limit=size + 1,
    )
    more = len(records) > size
    records = records[:size]
    return Page[OutreachPublic](
        items=publics(session, records), next_cursor=str(records[-1].id) if more and records else None
    )


@router.get("/feedback", response_model=list[FeedbackRow])
def feedback(
    principal: BureauOrAdminDep,
    session: ReadSessionDep,
    chain_id: Annotated[str | None, Query(max_length=64)] = None,
    format: Annotated[Literal["json", "jsonl", "csv"], Query(description="json | jsonl | csv")] = "json",
) -> Response | list[FeedbackRow]:
    """Training data: every stage change in the caller's region as a labelled (query, firm) pair —
    ``grade`` 0 declined, 1 shortlisted/contacted, 2 visited, 3 negotiating, 4 signed."""
    rows = feedback_rows(session, principal, chain_id=chain_id)
    if format == "json":
        return rows
    if format == "jsonl":
        body = "".join(r.model_dump_json() + "\n" for r in rows)
        return attachment(body, "outreach_feedback.jsonl", "application/x-ndjson")
    columns = list(FeedbackRow.model_fields)
    data = (r.model_dump(mode="json") for r in rows)
    return attachment(
        csv_bytes(columns, ([d[c] for c in columns] for d in data)),
        "outreach_feedback.csv",
        "text/csv; charset=utf-8",
    )


@router.get("/{record_id}", response_model=OutreachPublic)
def read(record: ReadableOutreachRecordDep, session: ReadSessionDep) -> OutreachPublic:
    return _public(session, record)


@router.patch("/{record_id}", response_model=OutreachPublic)
def update(body: OutreachUpdate, record: OutreachRecordDep, session: SessionDep) -> OutreachPublic:
    """Owner, notes, due date; fields left out are kept."""
    update_record(session, record, body)
    public = _public(session, record)
    session.commit()
    return public


@router.post("/{record_id}/stage", response_model=OutreachPublic, responses={409: CONFLICT})
def move(
    body: StageChange, record: OutreachRecordDep, principal: BureauOrAdminDep, session: SessionDep
) -> OutreachPublic:
    """Move to another stage (declined needs ``reason``; signed is final; ``expected_version`` guards
    against concurrent edits with 409). Stored as feedback."""
    change_stage(session, principal, record, body)
    public = _public(session, record)
    session.commit()
    return public


@router.get("/{record_id}/events", response_model=list[OutreachEventPublic])
def history(record: ReadableOutreachRecordDep, session: ReadSessionDep) -> list[OutreachEventPublic]:
    return events_of(session, record)
