"""Validate and insert product relations; an existing (product, relation, target) is unchanged."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import select
from tqdm import tqdm

from chainmatch.db import bump_revision, session_scope
from chainmatch.ingest.readers import ParsedRecord
from chainmatch.ingest.report import IngestReport
from models.relation import ProductRelation, ProductRelationCreate

logger = logging.getLogger(__name__)

_BATCH = 5000


def ingest_relations(
    engine: Engine, parsed: Iterable[ParsedRecord], *, skip_invalid: bool = False, progress: bool = False
) -> IngestReport:
    report = IngestReport()
    valid: dict[tuple[str, str, str], ProductRelationCreate] = {}
    for item in parsed:
        data = report.readable(item)
        if data is None:
            continue
        try:
            rel = ProductRelationCreate.model_validate(data)
        except ValidationError as exc:
            report.reject(exc, line=item.line, record_id=None)
            continue
        if rel.product == rel.target:
            report.warn("产品与目标相同，已忽略 (self-relation ignored)", line=item.line, field="target")
            continue
        key = (rel.product, rel.relation.value, rel.target)
        if key in valid:
            report.unchanged += 1
            continue
        valid[key] = rel
    report.require_records()
    if report.errors and (not skip_invalid or not valid):
        return report
    with session_scope(engine) as session:
        existing = {
            (p, str(r.value if hasattr(r, "value") else r), t)
            for p, r, t in session.exec(
                select(ProductRelation.product, ProductRelation.relation, ProductRelation.target)
            )
        }
        rows = [
            {"product": rel.product, "relation": rel.relation.value, "target": rel.target}
            for key, rel in valid.items()
            if key not in existing
        ]
        report.unchanged += len(valid) - len(rows)
        if rows:
            bump_revision(session, relations=True)
            for start in tqdm(
                range(0, len(rows), _BATCH), desc="写入产品关系 relations", unit="batch", disable=not progress
            ):
                session.execute(insert(ProductRelation), rows[start : start + _BATCH])
        report.inserted = len(rows)
    report.written = True
    return report
