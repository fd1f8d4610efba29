"""Outreach pipeline (招商跟踪): a bureau tracks each (weak link, candidate) through stages.

Every stage change is also an :class:`OutreachEvent` — the feedback the ranking can learn from — that
carries the weak link's query context (item text, region, side) so it can be exported as training
data without joining anything that may change later.

Also here: the dashboard's server-side login sessions (:class:`DashboardSession`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, StrictFloat, field_validator
from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import NormText, OptNormText, enum_type, finite_input, utcnow
from models.gap import RegionIn


class Stage(StrEnum):
    SHORTLISTED = "shortlisted"  # 已入选
    CONTACTED = "contacted"  # 已联系
    VISITED = "visited"  # 已拜访
    NEGOTIATING = "negotiating"  # 洽谈中
    SIGNED = "signed"  # 已签约
    DECLINED = "declined"  # 已放弃 / 对方拒绝 (with a reason)


STAGE_LABELS: dict[Stage, str] = {
    Stage.SHORTLISTED: "已入选",
    Stage.CONTACTED: "已联系",
    Stage.VISITED: "已拜访",
    Stage.NEGOTIATING: "洽谈中",
    Stage.SIGNED: "已签约",
    Stage.DECLINED: "已放弃",
}

# The graded relevance a stage implies for learning to rank (exported with the feedback).
STAGE_GRADES: dict[Stage, int] = {
    Stage.DECLINED: 0,
    Stage.SHORTLISTED: 1,
    Stage.CONTACTED: 1,
    Stage.VISITED: 2,
    Stage.NEGOTIATING: 3,
    Stage.SIGNED: 4,
}


class CandidateKind(StrEnum):
    TARGET = "target"  # investment target outside the region (招商目标)
    LOCAL = "local"  # local supplier inside the region (本地配套)


class OutreachBase(SQLModel):
    owner: OptNormText = Field(default=None, max_length=100, description="who at the bureau follows it up")
    notes: OptNormText = Field(default=None, max_length=4000)
    due_on: date | None = Field(default=None, description="next step due")

    @field_validator("due_on", mode="before")
    @classmethod
    def _date_text(cls, value: object) -> object:
        # Lax pydantic reads a number as a Unix time (0 → 1970-01-01); the schema says a date string.
        if value is not None and not isinstance(value, str | date):
            raise ValueError("日期须为 YYYY-MM-DD 格式的字符串 (a date is a YYYY-MM-DD string)")
        return value


class OutreachCreate(OutreachBase):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    chain_id: str = Field(max_length=64)
    node_id: str = Field(max_length=64, description="the weak link's node in the chain")
    product: NormText = Field(max_length=200, description="the weak-link item the firm was proposed for")
    for_product: OptNormText = Field(default=None, max_length=200, description="what the item goes into")
    firm_id: str = Field(max_length=64)
    kind: CandidateKind | None = Field(default=None, description="default: from where the firm is")
    region: RegionIn | None = Field(default=None, description="a bureau's default is its own; admin names it")
    stage: Stage = Stage.SHORTLISTED
    reason: OptNormText = Field(default=None, max_length=1000, description="required when stage is declined")
    rank: int | None = Field(
        default=None, ge=1, le=10_000, description="the firm's rank when it was proposed"
    )
    score: Annotated[StrictFloat | None, BeforeValidator(finite_input)] = Field(
        default=None, ge=-1e6, le=1e6, description="the engine's score when proposed"
    )


class OutreachUpdate(OutreachBase):
    """Owner, notes and due date (stages move through ``/stage``). Fields left out are kept."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class StageChange(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    stage: Stage
    reason: OptNormText = Field(default=None, max_length=1000, description="why declined (required then)")
    note: OptNormText = Field(default=None, max_length=2000)
    expected_version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="409 when the record changed meanwhile"
    )


class OutreachPublic(OutreachBase):
    id: int
    chain_id: str
    chain_version: int | None = Field(description="the chain's version the record was made for")
    node_id: str
    product: str
    for_product: str | None
    firm_id: str
    firm_name: str
    firm_province: str | None
    firm_city: str | None
    kind: CandidateKind
    region_province: str
    region_city: str | None
    stage: Stage
    stage_label: str
    decline_reason: str | None
    rank: int | None
    score: float | None
    version: int
    created_at: datetime
    updated_at: datetime
    stage_changed_at: datetime


class OutreachRecord(OutreachBase, table=True):
    __tablename__ = "outreach_record"
    __table_args__ = (
        UniqueConstraint(
            "region_key", "chain_id", "node_key", "product", "firm_id", name="uq_outreach_candidate"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    chain_id: str = Field(foreign_key="chain.id", index=True, max_length=64)
    # The chain's version when the record was made (NULL for records older than migration 0003).
    chain_version: int | None = Field(default=None)
    node_key: str = Field(max_length=64)
    product: str = Field(max_length=200)
    for_product: str | None = Field(default=None, max_length=200)
    firm_id: str = Field(foreign_key="firm.id", index=True, max_length=64)
    kind: CandidateKind = Field(sa_type=enum_type(CandidateKind))
    region_province: str = Field(index=True, max_length=40)
    region_city: str | None = Field(default=None, max_length=60)
    # "广东省|" or "广东省|深圳市": one candidate is tracked once per region (NULL cities are distinct
    # in SQL unique constraints, so the key spells the region out).
    region_key: str = Field(max_length=110)
    stage: Stage = Field(default=Stage.SHORTLISTED, sa_type=enum_type(Stage), index=True)
    decline_reason: str | None = Field(default=None, max_length=1000)
    rank: int | None = None
    score: float | None = None
    version: int = 1
    created_by_key_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    stage_changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))


class OutreachEventPublic(SQLModel):
    id: int
    record_id: int
    from_stage: Stage | None
    to_stage: Stage
    reason: str | None
    note: str | None
    key_id: int | None
    at: datetime


class FeedbackRow(SQLModel):
    """One line of the training-data export: a (query, firm) pair with the label a stage implies."""

    event_id: int
    record_id: int
    at: datetime
    query: str
    for_product: str | None
    chain_id: str
    node_id: str
    region_province: str
    region_city: str | None
    scope: str
    firm_id: str
    stage: Stage
    previous_stage: Stage | None
    grade: int
    reason: str | None
    rank: int | None
    score: float | None


class OutreachEvent(SQLModel, table=True):
    """Append-only: one row per creation and per stage change."""

    __tablename__ = "outreach_event"

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="outreach_record.id", index=True)
    chain_id: str = Field(max_length=64, index=True)
    node_key: str = Field(max_length=64)
    product: str = Field(max_length=200)
    for_product: str | None = Field(default=None, max_length=200)
    firm_id: str = Field(max_length=64)
    kind: CandidateKind = Field(sa_type=enum_type(CandidateKind))
    region_province: str = Field(index=True, max_length=40)
    region_city: str | None = Field(default=None, max_length=60)
    from_stage: Stage | None = Field(default=None, sa_type=enum_type(Stage))
    to_stage: Stage = Field(sa_type=enum_type(Stage))
    reason: str | None = Field(default=None, max_length=1000)
    note: str | None = Field(default=None, max_length=2000)
    rank: int | None = None
    score: float | None = None
    key_id: int | None = None
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), index=True))


class DashboardSession(SQLModel, table=True):
    """A dashboard login. The cookie holds an opaque random token; only its SHA-256 is stored, so a
    database leak yields no usable session, and logout or key revocation ends it at once."""

    __tablename__ = "dashboard_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    key_id: int = Field(foreign_key="api_key.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
