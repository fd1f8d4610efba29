"""Load gap lists from a JSON file (the sample cluster's, or a platform export), or one list from a
spreadsheet (:mod:`chainmatch.gapsheet`)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chainmatch.db import session_scope
from chainmatch.gaplists import (
    GapListError,
    Understand,
    create_list,
    fill_items,
    items_of,
    list_public,
    revise_list,
)
from chainmatch.gapsheet import parse_sheet
from chainmatch.ingest.report import IngestReport, validation_issues
from models.gap import GapItemCreate, GapList, GapListCreate, RegionIn
from models.matching import GapSheetReport, SheetIssue


def import_gap_lists(engine: Engine, path: Path, *, understand: Understand | None = None) -> IngestReport:
    """Create each list, or revise the leader's list with the same title when its content changed.
    All or nothing: any invalid list writes none. ``understand``: fill each item's empty sourcing
    fields from its text, as the API does (:func:`chainmatch.gaplists.fill_from_text`)."""
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
        if understand is not None:
            body = body.model_copy(update={"items": fill_items(body.items, understand)})
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
    existing = _find_list(session, body.leader_firm_id, body.title)
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


def import_gap_sheet(
    engine: Engine,
    data: bytes,
    name: str | None,
    *,
    understand: Understand,
    leader_firm_id: str,
    title: str,
    region: str | None = None,
    city: str | None = None,
    max_items: int,
    dry_run: bool = False,
) -> tuple[GapSheetReport, str | None]:
    """One gap list from a spreadsheet (``chainmatch gaps import FILE.xlsx``): created, or — when the
    leader has a list with this title — revised. Returns the per-row report and what happened
    (created / updated / unchanged; None when nothing was written: an error or a dry run)."""
    report, items = parse_sheet(data, name, understand, max_items=max_items)
    if report.errors or dry_run:
        return report, None
    try:
        body = GapListCreate(
            title=title,
            leader_firm_id=leader_firm_id,
            region=RegionIn(province=region, city=city) if region and region.strip() else None,
            items=items,
        )
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err.get("loc", ()))
            report.errors.append(SheetIssue(row=None, column=field or None, message=str(err.get("msg"))))
        return report, None
    counts = IngestReport()
    try:
        with session_scope(engine) as session:
            _upsert_list(session, body, counts)
            gap_list = _find_list(session, leader_firm_id, body.title)
            assert gap_list is not None
            report.gap_list = list_public(session, gap_list)
    except GapListError as exc:
        report.errors.append(SheetIssue(row=None, column=None, message=str(exc)))
        report.gap_list = None
        return report, None
    report.written = counts.inserted + counts.updated > 0
    outcome = "created" if counts.inserted else "updated" if counts.updated else "unchanged"
    return report, outcome


def _find_list(session: Session, leader_firm_id: str, title: str) -> GapList | None:
    return session.exec(
        select(GapList).where(
            GapList.leader_firm_id == leader_firm_id,
            GapList.title == title,
            col(GapList.deleted_at).is_(None),
        )
    ).first()
