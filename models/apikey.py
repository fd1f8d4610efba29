"""API keys: stored as salted hashes, shown once, scoped by role, revocable."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from models.common import enum_type, utcnow


class Role(StrEnum):
    ADMIN = "admin"  # the platform operator
    BUREAU = "bureau"  # an investment-promotion bureau, scoped to a province (optionally a city)
    LEADER = "leader"  # a chain-leader firm, scoped to its own firm
    SUPPLIER = "supplier"  # a supporting firm declaring its willingness to supply (配套意愿), its own firm


class ApiKeyBase(SQLModel):
    role: Role = Field(sa_type=enum_type(Role))
    province: str | None = Field(default=None, max_length=40)
    city: str | None = Field(default=None, max_length=60)
    firm_id: str | None = Field(default=None, max_length=64)
    label: str | None = Field(default=None, max_length=200)


class ApiKeyPublic(ApiKeyBase):
    id: int
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKey(ApiKeyBase, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(unique=True, index=True, max_length=16)  # public part, used to look the key up
    salt: str = Field(max_length=64)
    secret_hash: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
