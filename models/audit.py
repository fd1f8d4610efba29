"""Append-only audit trail of reads and writes of confidential data. Holds no personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from models.common import utcnow


class AuditEventBase(SQLModel):
    key_id: int | None = Field(default=None, index=True)
    role: str = Field(max_length=20)
    action: str = Field(max_length=40)  # read / create / update / delete / recommend / list
    object_type: str = Field(max_length=40)  # gap_list / firm_contact
    object_id: str | None = Field(default=None, max_length=64, index=True)
    # The version of the object read (a gap list's), and the request that read it ("GET /v1/…").
    object_version: int | None = Field(default=None)
    route: str | None = Field(default=None, max_length=200)


class AuditEventPublic(AuditEventBase):
    id: int
    at: datetime


class AuditEvent(AuditEventBase, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), index=True))
