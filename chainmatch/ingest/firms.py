"""Validate and upsert firm records: all-or-nothing by default, valid-only with ``skip_invalid``."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from tqdm import tqdm

from chainmatch.db import bump_revision, session_scope
from chainmatch.ingest.readers import ParsedRecord
from chainmatch.ingest.report import IngestReport
from chainmatch.ingest.rows import insert_rows
from models.common import utcnow
from models.firm import Firm, FirmCreate, FirmProduct, FirmTag
from models.regions import is_known_province
from recommender.corpus import Product
from recommender.products import clean_products

logger = logging.getLogger(__name__)

_CHUNK = 500  # ids per IN (...) clause; well under SQLite's and PostgreSQL's parameter limits


@dataclass(slots=True)
class ValidFirm:
    line: int | None
    record: FirmCreate
    products: list[Product]  # cleaned by clean_products; these are stored, not record.products
    content_hash: str = ""


@dataclass(slots=True)
class ValidatedFirms:
    firms: list[ValidFirm] = field(default_factory=list)
    report: IngestReport = field(default_factory=IngestReport)


def validate_firms(parsed: Iterable[ParsedRecord]) -> ValidatedFirms:
    """Validate every record; normalise products (with warnings); reject duplicate ids in one input."""
    out = ValidatedFirms()
    report = out.report
    first_line: dict[str, int | None] = {}
    for item in parsed:
        data = report.readable(item)
        if data is None:
            continue
        raw_id = data.get("id")
        record_id = str(raw_id) if raw_id is not None else None
        try:
            record = FirmCreate.model_validate(data)
        except ValidationError as exc:
            report.reject(exc, line=item.line, record_id=record_id)
            continue
        if record.id in first_line:
            report.invalid += 1
            report.error(
                f"id 重复：与第 {first_line[record.id]} 条记录相同 (duplicate id in this input)",
                line=item.line,
                id=record.id,
                field="id",
            )
            continue
        first_line[record.id] = item.line
        products, notes = clean_products({"name": p.name, "share": p.share} for p in record.products)
        for note in notes:
            report.warn(note, line=item.line, id=record.id, field="products")
        if record.province and record.country == "中国" and not is_known_province(record.province):
            report.warn(
                f"未知省份 {record.province} (unknown province)",
                line=item.line,
                id=record.id,
                field="province",
            )
        out.firms.append(ValidFirm(item.line, record, products, _content_hash(record, products)))
    report.require_records()
    return out


def _content_hash(record: FirmCreate, products: Sequence[Product]) -> str:
    payload = record.model_dump(mode="json", exclude={"products"})
    payload["products"] = [{"name": p.name, "share": p.share} for p in products]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _firm_row(record: FirmCreate, content_hash: str, revision: int) -> dict[str, object]:
    row = record.model_dump(exclude={"products", "tags", "contact"})
    contact = record.contact
    row.update(
        contact_name=contact.name if contact else None,
        contact_phone=contact.phone if contact else None,
        contact_email=str(contact.email) if contact and contact.email else None,
        content_hash=content_hash,
        revision=revision,
        updated_at=utcnow(),
        deleted_at=None,
    )
    return row


def write_firms(
    session: Session, firms: Sequence[ValidFirm], report: IngestReport, *, progress: bool = False
) -> None:
    """Upsert ``firms`` inside the caller's transaction; counts go into ``report``."""
    if not firms:
        return
    existing: dict[str, tuple[str, bool]] = {}
    ids = [f.record.id for f in firms]
    for start in range(0, len(ids), _CHUNK):
        rows = session.exec(
            select(Firm.id, Firm.content_hash, Firm.deleted_at).where(
                col(Firm.id).in_(ids[start : start + _CHUNK])
            )
        )
        existing.update({fid: (h, deleted is not None) for fid, h, deleted in rows})
    new = [f for f in firms if f.record.id not in existing]
    changed = [
        f
        for f in firms
        if f.record.id in existing
        and (existing[f.record.id][0] != f.content_hash or existing[f.record.id][1])
    ]
    report.unchanged += len(firms) - len(new) - len(changed)
    if not new and not changed:
        return
    revision = bump_revision(session)
    bar = tqdm(total=len(new) + len(changed), desc="写入企业 firms", unit="firm", disable=not progress)
    now = utcnow()
    for start in range(0, len(changed), _CHUNK):
        batch = changed[start : start + _CHUNK]
        batch_ids = [f.record.id for f in batch]
        session.exec(delete(FirmProduct).where(col(FirmProduct.firm_id).in_(batch_ids)))
        session.exec(delete(FirmTag).where(col(FirmTag.firm_id).in_(batch_ids)))
        session.execute(update(Firm), [_firm_row(f.record, f.content_hash, revision) for f in batch])
        _insert_children(session, batch)
        bar.update(len(batch))
    for start in range(0, len(new), _CHUNK):
        batch = new[start : start + _CHUNK]
        new_rows = [_firm_row(f.record, f.content_hash, revision) | {"created_at": now} for f in batch]
        columns = list(new_rows[0])
        insert_rows(session, Firm.__table__, columns, [tuple(r[c] for c in columns) for r in new_rows])  # type: ignore[attr-defined]
        _insert_children(session, batch)
        bar.update(len(batch))
    bar.close()
    report.inserted += len(new)
    report.updated += len(changed)


def _insert_children(session: Session, batch: Sequence[ValidFirm]) -> None:
    products = [(f.record.id, i, p.name, p.share) for f in batch for i, p in enumerate(f.products)]
    tags = [(f.record.id, t) for f in batch for t in f.record.tags]
    # Multi-row inserts on the tables: the ORM's bulk path costs more per row than the database
    # does, and a row-by-row executemany stalls on the GIL beside the index catch-up (rows.py).
    insert_rows(session, FirmProduct.__table__, ("firm_id", "position", "name", "share"), products)  # type: ignore[attr-defined]
    insert_rows(session, FirmTag.__table__, ("firm_id", "tag"), tags)  # type: ignore[attr-defined]


def ingest_firms(
    engine: Engine, parsed: Iterable[ParsedRecord], *, skip_invalid: bool = False, progress: bool = False
) -> IngestReport:
    """Validate all records, then write them in ONE transaction — or nothing when any is invalid
    and ``skip_invalid`` is off. A crash mid-write leaves the database as it was."""
    validated = validate_firms(parsed)
    report = validated.report
    if report.errors and (not skip_invalid or not validated.firms):
        logger.info(
            "ingest rejected: %d invalid of %d records, nothing written", report.invalid, report.received
        )
        return report
    with session_scope(engine) as session:
        write_firms(session, validated.firms, report, progress=progress)
    report.written = True
    logger.info(
        "ingest: %d inserted, %d updated, %d unchanged, %d invalid",
        report.inserted,
        report.updated,
        report.unchanged,
        report.invalid,
    )
    return report


def soft_delete_firm(session: Session, firm_id: str) -> bool:
    firm = session.get(Firm, firm_id)
    if firm is None or firm.deleted_at is not None:
        return False
    firm.deleted_at = utcnow()
    firm.revision = bump_revision(session)
    session.add(firm)
    return True
