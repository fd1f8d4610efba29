"""Append audit events for reads and writes of confidential data (no personal data in the log)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chainmatch.db import session_scope
from chainmatch.keys import Principal
from models.audit import AuditEvent


def audit(
    session: Session, principal: Principal, action: str, object_type: str, object_id: str | None
) -> None:
    """Stage an event in the caller's transaction: it commits together with what it records."""
    session.add(
        AuditEvent(
            key_id=principal.key_id,
            role=principal.role.value,
            action=action,
            object_type=object_type,
            object_id=object_id,
        )
    )


class ReadAudit:
    """Records reads in a short write transaction of their own.

    Read handlers run on read sessions, so on SQLite they never hold the write lock while they
    compute (a recommendation, a weak-link assessment); only this INSERT takes it, just before the
    data leaves. If the event cannot be written the handler fails and nothing is returned.
    """

    def __init__(self, db: Engine, principal: Principal) -> None:
        self.db = db
        self.principal = principal

    def record(self, action: str, object_type: str, *object_ids: str) -> None:
        with session_scope(self.db) as session:
            for object_id in object_ids:
                audit(session, self.principal, action, object_type, object_id)
