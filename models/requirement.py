"""A leader's requirements per weak link (as confidential as its gap list).

Per item of a gap list (named by the item's ``name``, so a requirement outlives list revisions
that keep the item): required certifications, minimum scale or yearly capacity, acceptable
provinces or a maximum distance, excluded firms (competitors) and the firms the leader wishes to
bring in. Requirements are hard filters unless named in ``soft``, then ranking features.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict
from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import MAX_CNY, NormText, OptFiniteFloat, OptNormText, Scale, enum_type, utcnow

ShortText = Annotated[NormText, Field(max_length=60)]
IdText = Annotated[str, Field(max_length=64)]


class Criterion(StrEnum):
    """The requirements that may be made soft (excluded firms are always hard, wished ones soft)."""

    CERTIFICATIONS = "certifications"
    MIN_SCALE = "min_scale"
    MIN_CAPACITY = "min_annual_capacity_cny"
    PROVINCES = "provinces"
    DISTANCE = "max_distance_km"


class RequirementBase(SQLModel):
    item: NormText = Field(max_length=200, description="the weak-link item's name, as in the gap list")
    min_scale: Scale | None = Field(
        default=None, sa_type=enum_type(Scale), description="micro < small < medium < large"
    )
    min_annual_capacity_cny: OptFiniteFloat = Field(
        default=None, ge=0, le=MAX_CNY, description="yearly supply capacity its offer states, in yuan"
    )
    max_distance_km: int | None = Field(
        default=None, ge=1, le=10_000, description="from the list's region (province capitals)"
    )
    note: OptNormText = Field(default=None, max_length=1000)


class RequirementLists(SQLModel):
    certifications: list[ShortText] = Field(default_factory=list, max_length=20, description="all required")
    provinces: list[ShortText] = Field(
        default_factory=list, max_length=40, description="acceptable provinces"
    )
    excluded_firm_ids: list[IdText] = Field(default_factory=list, max_length=200, description="competitors")
    preferred_firm_ids: list[IdText] = Field(default_factory=list, max_length=50, description="wished for")
    soft: list[Criterion] = Field(default_factory=list, description="requirements that rank, not filter")


class RequirementIn(RequirementBase, RequirementLists):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class RequirementsUpdate(SQLModel):
    """``PUT``: the list's requirements, replaced as a whole (one entry per item at most)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    requirements: list[RequirementIn] = Field(max_length=200)


class RequirementPublic(RequirementBase, RequirementLists):
    id: int
    gap_list_id: str
    updated_at: datetime


class RequirementsPublic(SQLModel):
    gap_list_id: str
    gap_list_version: int
    requirements: list[RequirementPublic]


class GapRequirement(RequirementBase, table=True):
    __tablename__ = "gap_requirement"
    __table_args__ = (UniqueConstraint("gap_list_id", "item", name="uq_gap_requirement_item"),)

    id: int | None = Field(default=None, primary_key=True)
    gap_list_id: str = Field(foreign_key="gap_list.id", index=True, max_length=40)
    certifications: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    provinces: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    excluded_firm_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    preferred_firm_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    soft: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_by_key_id: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
