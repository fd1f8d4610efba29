"""Gap lists (断链断供风险清单): a leader firm's confidential weak links, versioned on update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict
from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from models.common import MAX_CNY, NormText, OptFiniteFloat, OptNormText, utcnow


class GapItemBase(SQLModel):
    name: NormText = Field(max_length=200, description="the component/material, e.g. 涡轮分子泵")
    description: OptNormText = Field(default=None, max_length=2000)
    for_product: OptNormText = Field(default=None, max_length=200, description="leader product it goes into")
    spec: OptNormText = Field(default=None, max_length=1000)
    annual_demand_cny: OptFiniteFloat = Field(default=None, ge=0, le=MAX_CNY)
    import_share: OptFiniteFloat = Field(default=None, ge=0, le=1)
    current_source_country: OptNormText = Field(default=None, max_length=60)
    risk_level: int | None = Field(default=None, ge=1, le=5)


class GapItemCreate(GapItemBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class GapItemPublic(GapItemBase):
    id: int
    position: int


class GapItem(GapItemBase, table=True):
    __tablename__ = "gap_item"

    id: int | None = Field(default=None, primary_key=True)
    gap_list_id: str = Field(foreign_key="gap_list.id", index=True, max_length=40)
    position: int = 0


class RegionIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    province: NormText = Field(max_length=40)
    city: OptNormText = Field(default=None, max_length=60)


class GapListBase(SQLModel):
    title: NormText = Field(max_length=200)


class GapListCreate(GapListBase):
    """``leader_firm_id`` is honoured only for admin keys; a leader key always submits for its own firm."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    leader_firm_id: str | None = Field(default=None, max_length=64)
    region: RegionIn | None = Field(default=None, description="default: the leader firm's province")
    items: list[GapItemCreate] = Field(min_length=1)


class GapListUpdate(GapListBase):
    """A revision replaces title, region and items; ownership never changes."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    region: RegionIn | None = None
    items: list[GapItemCreate] = Field(min_length=1)


class GapListPublic(GapListBase):
    id: str
    leader_firm_id: str
    region_province: str
    region_city: str | None
    version: int
    items: list[GapItemPublic]
    created_at: datetime
    updated_at: datetime


class GapList(GapListBase, table=True):
    __tablename__ = "gap_list"

    # Random, unguessable ids: a list's existence is itself confidential.
    id: str = Field(primary_key=True, max_length=40)
    leader_firm_id: str = Field(foreign_key="firm.id", index=True, max_length=64)
    region_province: str = Field(index=True, max_length=40)
    region_city: str | None = Field(default=None, max_length=60)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class GapListRevision(SQLModel, table=True):
    """Each superseded version of a list, kept whole so a revision can be audited or restored."""

    __tablename__ = "gap_list_revision"

    id: int | None = Field(default=None, primary_key=True)
    gap_list_id: str = Field(foreign_key="gap_list.id", index=True, max_length=40)
    version: int
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
