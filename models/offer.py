"""Supply offers (配套意愿): a firm's declaration that it can and will supply, versioned on update.

A supplier submits its own; a bureau may register one on behalf of a firm in its region; the
platform operator imports them in bulk. Valid until ``valid_until`` (inclusive). The products are
free text, read like a weak link when offers are matched to leaders' items.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, field_validator
from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from models.common import MAX_CNY, NormText, OptFiniteFloat, OptNormText, utcnow

ShortText = Annotated[NormText, Field(max_length=60)]
ProductText = Annotated[NormText, Field(max_length=200)]
IdText = Annotated[str, Field(max_length=64)]


def _date_text(value: object) -> object:
    # Lax pydantic reads a number as a Unix time (0 → 1970-01-01); the schema says a date string.
    if value is not None and not isinstance(value, str | date):
        raise ValueError("日期须为 YYYY-MM-DD 格式的字符串 (a date is a YYYY-MM-DD string)")
    return value


class SupplyOfferBase(SQLModel):
    title: NormText = Field(max_length=200, description="e.g. 真空泵及真空计配套意愿")
    description: OptNormText = Field(default=None, max_length=2000)
    capacity: OptNormText = Field(default=None, max_length=200, description="产能, as written: 年产5000台")
    annual_capacity_cny: OptFiniteFloat = Field(
        default=None, ge=0, le=MAX_CNY, description="what it could supply a year, in yuan"
    )
    lead_time_days: int | None = Field(default=None, ge=0, le=3650, description="交货周期, days")
    invest_locally: bool = Field(
        default=False, description="willing to set up locally (愿意在本地设厂) in invest_provinces"
    )
    contact_name: OptNormText = Field(default=None, max_length=60)
    contact_phone: OptNormText = Field(default=None, max_length=40)
    contact_email: OptNormText = Field(default=None, max_length=200)
    valid_until: date = Field(description="the declaration holds until this day (inclusive)")

    @field_validator("valid_until", mode="before")
    @classmethod
    def _valid_until_text(cls, value: object) -> object:
        return _date_text(value)


class SupplyOfferLists(SQLModel):
    """The list-valued fields (JSON columns in the table)."""

    products: list[ProductText] = Field(
        min_length=1, max_length=50, description="free text, read like a weak link: 涡轮分子泵（抽速300L/s）"
    )
    certifications: list[ShortText] = Field(
        default_factory=list, max_length=30, description="ISO 9001, IATF 16949, ISO 13485, AS9100 …"
    )
    supply_provinces: list[ShortText] = Field(
        default_factory=list, max_length=40, description="provinces it would supply; empty: anywhere"
    )
    invest_provinces: list[ShortText] = Field(
        default_factory=list, max_length=40, description="where it would set up; empty: anywhere"
    )
    target_chain_ids: list[IdText] = Field(default_factory=list, max_length=20)
    target_leader_ids: list[IdText] = Field(
        default_factory=list, max_length=20, description="the leaders it wants to supply; empty: any"
    )


class SupplyOfferCreate(SupplyOfferBase, SupplyOfferLists):
    """``firm_id`` is taken from a supplier's key; a bureau or admin names it."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    firm_id: str | None = Field(default=None, max_length=64)


class SupplyOfferUpdate(SupplyOfferBase, SupplyOfferLists):
    """A revision replaces every field; the firm never changes."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]


class SupplyOfferPublic(SupplyOfferBase, SupplyOfferLists):
    id: str
    firm_id: str
    firm_name: str
    firm_province: str | None
    firm_city: str | None
    version: int
    valid: bool = Field(description="valid_until has not passed")
    created_at: datetime
    updated_at: datetime


class SupplyOffer(SupplyOfferBase, table=True):
    __tablename__ = "supply_offer"

    id: str = Field(primary_key=True, max_length=40)
    firm_id: str = Field(foreign_key="firm.id", index=True, max_length=64)
    products: list[str] = Field(sa_column=Column(JSON, nullable=False))
    certifications: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    supply_provinces: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    invest_provinces: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    target_chain_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    target_leader_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = 1
    created_by_key_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SupplyOfferRevision(SQLModel, table=True):
    """Each superseded version of an offer, kept whole."""

    __tablename__ = "supply_offer_revision"

    id: int | None = Field(default=None, primary_key=True)
    offer_id: str = Field(foreign_key="supply_offer.id", index=True, max_length=40)
    version: int
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
