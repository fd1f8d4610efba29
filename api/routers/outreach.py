"""The outreach pipeline (招商跟踪): bureaus move (weak link, candidate) pairs through stages; every
change is kept as feedback and exported as training data. Scoped to the bureau's region."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from api.caller import BureauCallerDep
from api.deps import PageSizeDep
from api.downloads import attachment
from api.errors import ErrorBody
from chainmatch.exports import csv_bytes
from chainmatch.services import outreach
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

router = APIRouter(prefix="/v1/outreach", tags=["outreach"])

CONFLICT = {
    "model": ErrorBody,
    "description": "tracked already, changed meanwhile, or the move is not allowed",
}
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "", response_model=OutreachPublic, status_code=status.HTTP_201_CREATED, responses={409: CONFLICT}
)
def create(body: OutreachCreate, caller: BureauCallerDep) -> OutreachPublic:
    """Start tracking a candidate for a weak link (default stage: shortlisted). ``kind`` follows from
    where the firm is; 409 when the candidate is tracked already in this region."""
    return outreach.create_record(caller, body)


@router.get("", response_model=Page[OutreachPublic])
def list_all(
    caller: BureauCallerDep,
    size: PageSizeDep,
    chain_id: Annotated[str | None, Query(max_length=64)] = None,
    node_id: Annotated[str | None, Query(max_length=64)] = None,
    stage: Stage | None = None,
    kind: CandidateKind | None = None,
    region: Annotated[str | None, Query(max_length=40, description="admin: filter by province")] = None,
    cursor: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9]{1,9}$")] = None,
) -> Page[OutreachPublic]:
    """The records of the caller's region (admin: all, or ``region``), oldest first."""
    return outreach.list_records(
        caller,
        size=size,
        chain_id=chain_id,
        node_id=node_id,
        stage=stage,
        kind=kind,
        region=region,
        after_id=int(cursor) if cursor else None,
    )


@router.get("/feedback", response_model=list[FeedbackRow])
def feedback(
    caller: BureauCallerDep,
    chain_id: Annotated[str | None, Query(max_length=64)] = None,
    format: Annotated[Literal["json", "jsonl", "csv"], Query(description="json | jsonl | csv")] = "json",
) -> Response | list[FeedbackRow]:
    """Training data: every stage change in the caller's region as a labelled (query, firm) pair —
    ``grade`` 0 declined, 1 shortlisted/contacted, 2 visited, 3 negotiating, 4 signed."""
    rows = outreach.feedback(caller, chain_id=chain_id)
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
def read(record_id: RecordId, caller: BureauCallerDep) -> OutreachPublic:
    return outreach.read_record(caller, record_id)


@router.patch("/{record_id}", response_model=OutreachPublic)
def update(record_id: RecordId, body: OutreachUpdate, caller: BureauCallerDep) -> OutreachPublic:
    """Owner, notes, due date; fields left out are kept."""
    return outreach.update_record(caller, record_id, body)


@router.post("/{record_id}/stage", response_model=OutreachPublic, responses={409: CONFLICT})
def move(record_id: RecordId, body: StageChange, caller: BureauCallerDep) -> OutreachPublic:
    """Move to another stage (declined needs ``reason``; signed is final; ``expected_version`` guards
    against concurrent edits with 409). Stored as feedback."""
    return outreach.change_stage(caller, record_id, body)


@router.get("/{record_id}/events", response_model=list[OutreachEventPublic])
def history(record_id: RecordId, caller: BureauCallerDep) -> list[OutreachEventPublic]:
    return outreach.record_events(caller, record_id)
