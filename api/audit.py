"""Append audit events for reads and writes of confidential data (no personal data in the log)."""

from __future__ import annotations

from sqlmodel import Session

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
