"""Load gap lists from a JSON file (the sample cluster's, or a platform export)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chainmatch.db import session_scope
from chainmatch.gaplists import GapListError, create_list, items_of, revise_list
from chainmatch.ingest.report import IngestReport, validation_issues
from models.gap import GapItemCreate, GapList, GapListCreate


def import_gap_lists(engine: Engine, path: Path) -> IngestReport:
    """Create each list, or revise the leader's list with the same title when its content changed.
    All or nothing: any invalid list writes none."""
    report = IngestReport()
    raw = json.loads(path.read_text(encoding="utf-8-sig"))
    if isinstance(raw, dict):
        raw = [raw]
    bodies: list[GapListCreate] = []
    for position, item in enumerate(raw, start=1):
        report.received += 1
        record = dict(item) if isinstance(item, dict) else {}
        record.pop("id", None)  # file ids are the platform's; ours are generated
        try:
            body = GapListCreate.model_validate(record)
        except ValidationError as exc:
            report.invalid += 1
            report.errors.extend(validation_issues(exc, line=position, record_id=None))
            continue
        if not body.leader_firm_id:
            report.invalid += 1
            report.error(
                "缺少 leader_firm_id (missing leader_firm_id)", line=position, field="leader_firm_id"
            )
            continue
        bodies.append(body)
    if report.errors:
        return report
    try:
        with session_scope(engine) as session:
            for position, body in enumerate(bodies, start=1):
                try:
                    _upsert_list(session, body, report)
                except GapListError as exc:
                    report.error(str(exc), line=position, id=body.leader_firm_id, field="leader_firm_id")
                    raise
    except GapListError:
        report.inserted = report.updated = report.unchanged = 0
        return report  # rolled back: nothing written
    report.written = True
    return report


def _upsert_list(session: Session, body: GapListCreate, report: IngestReport) -> None:
    assert body.leader_firm_id is not None
    existing = session.exec(
        select(GapList).where(
            GapList.leader_firm_id == body.leader_firm_id,
            GapList.title == body.title,
            col(GapList.deleted_at).is_(None),
        )
    ).first()
    if existing is None:
        create_list(
            session,
            leader_firm_id=body.leader_firm_id,
            title=body.title,
            region=body.region,
            items=body.items,
        )
        report.inserted += 1
        return
    current = [i.model_dump(include=set(GapItemCreate.model_fields)) for i in items_of(session, existing)]
    if current == [i.model_dump() for i in body.items]:
        report.unchanged += 1
    else:
        revise_list(session, existing, title=body.title, region=body.region, items=body.items)
        report.updated += 1
