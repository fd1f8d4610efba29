"""The audit trail, for admin: every recorded read and write of confidential data, oldest first."""

from __future__ import annotations

from sqlmodel import col, select

from chainmatch.services.context import Caller
from models.apikey import Role
from models.audit import AuditEvent, AuditEventPublic
from models.matching import Page


def events(
    caller: Caller, *, limit: int, object_id: str | None = None, after: int | None = None
) -> Page[AuditEventPublic]:
    """One page of events by id (of ``object_id`` only, when given), after the event ``after``."""
    caller.require(Role.ADMIN)
    query = select(AuditEvent)
    if object_id:
        query = query.where(AuditEvent.object_id == object_id)
    if after is not None:
        query = query.where(col(AuditEvent.id) > after)
    with caller.reading() as session:
        rows = session.exec(query.order_by(col(AuditEvent.id)).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[AuditEventPublic](
        items=[AuditEventPublic.model_validate(e, from_attributes=True) for e in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )
