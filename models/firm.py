"""Firm registry: profile, products with revenue shares, tags, optional contact person."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, StrictFloat, StrictInt, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column, DateTime, Index
from sqlmodel import Field, SQLModel

from models.common import (
    MAX_CNY,
    MAX_EMPLOYEES,
    NameText,
    NormText,
    OptFiniteFloat,
    OptNameText,
    OptNormText,
    Scale,
    enum_type,
    finite_input,
    utcnow,
)
from models.regions import normalize_city, normalize_province
from models.uscc import validate_uscc

FIRM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"


class ProductIn(BaseModel):
    """One product of an incoming firm record: a value inside FirmCreate, not an entity (a plain
    pydantic model validates in pydantic-core; a nested SQLModel costs ~10 µs more per product)."""

    name: NormText = PydanticField(max_length=200)
    # Shares are validated by the importer, which normalises messy segment data with warnings
    # (negative elimination lines, values a little above 1) rather than rejecting whole files;
    # only non-finite ones (NaN, inf) are refused here.
    share: OptFiniteFloat = None


class ProductPatch(ProductIn):
    """A product in a JSON update body: the share must be a JSON number (true is not 1)."""

    share: OptFiniteFloat = PydanticField(None, strict=True)


class ProductPublic(SQLModel):
    name: str
    share: float | None


class Contact(SQLModel):
    """Personal data: stored, returned only to admin keys."""

    name: OptNormText = Field(default=None, max_length=100)
    phone: OptNormText = Field(default=None, max_length=40)
    email: EmailStr | None = None


class FirmBase(SQLModel):
    name: NameText = Field(max_length=200, index=True)
    fullname: OptNameText = Field(default=None, max_length=300)
    uscc: OptNormText = Field(default=None, max_length=18, index=True)
    province: OptNormText = Field(default=None, max_length=40, index=True)
    city: OptNormText = Field(default=None, max_length=60, index=True)
    district: OptNormText = Field(default=None, max_length=60)
    country: NormText = Field(default="中国", max_length=60)
    industry: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scale: Scale = Field(default=Scale.UNKNOWN, sa_type=enum_type(Scale))
    employees: int | None = Field(default=None, ge=0, le=MAX_EMPLOYEES)
    revenue_cny: OptFiniteFloat = Field(default=None, ge=0, le=MAX_CNY)
    description: OptNormText = Field(default=None, max_length=4000)
    exchange: OptNormText = Field(default=None, max_length=60)
    listed_on: OptNormText = Field(default=None, max_length=20)


class FirmCreate(FirmBase):
    """One record of an import file or of ``POST /v1/firms``. Upserted by ``id``."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    id: str = Field(max_length=64, regex=FIRM_ID_PATTERN)
    products: list[ProductIn] = Field(default_factory=list, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=50)
    contact: Contact | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value.strip() if isinstance(value, str) else value

    @field_validator("uscc", mode="after")
    @classmethod
    def _uscc(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        reason = validate_uscc(value)
        if reason:
            raise ValueError(reason)
        return value

    @field_validator("province", mode="after")
    @classmethod
    def _province(cls, value: str | None) -> str | None:
        return normalize_province(value)

    @field_validator("city", mode="after")
    @classmethod
    def _city(cls, value: str | None) -> str | None:
        return normalize_city(value)

    @field_validator("industry", mode="before")
    @classmethod
    def _industry(cls, value: object) -> object:
        from recommender.text import normalize_text

        if isinstance(value, str):  # CSV: "机械设备/通用设备/仪器仪表"
            value = [p for p in value.replace(">", "/").split("/")]
        if isinstance(value, list):
            return [normalize_text(str(p)) for p in value if normalize_text(str(p))]
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        from recommender.text import normalize_text

        if isinstance(value, str):  # CSV: "专精特新;小巨人"
            value = value.replace("，", ";").replace(",", ";").split(";")
        if isinstance(value, list):
            seen: dict[str, None] = {}
            for tag in value:
                text = normalize_text(str(tag))
                if text:
                    seen.setdefault(text[:40], None)
            return list(seen)
        return value


class FirmUpdate(SQLModel):
    """``PATCH /v1/firms/{id}``: the fields sent replace the stored ones (lists — products, tags,
    industry — whole; ``null`` clears an optional field). The merged record is validated and
    normalised exactly as an import record (:class:`FirmCreate`), so the rules live in one place."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    name: str | None = Field(default=None, max_length=200)
    fullname: str | None = Field(default=None, max_length=300)
    uscc: str | None = Field(default=None, max_length=18)
    province: str | None = Field(default=None, max_length=40)
    city: str | None = Field(default=None, max_length=60)
    district: str | None = Field(default=None, max_length=60)
    country: str | None = Field(default=None, max_length=60)
    industry: list[str] | None = Field(default=None, max_length=20)
    scale: Scale | None = None
    # strict: a JSON true is not 1 (import files stay lax: CSV cells are text)
    employees: StrictInt | None = Field(default=None, ge=0, le=MAX_EMPLOYEES)
    revenue_cny: Annotated[StrictFloat | None, BeforeValidator(finite_input)] = Field(
        default=None, ge=0, le=MAX_CNY
    )
    description: str | None = Field(default=None, max_length=4000)
    exchange: str | None = Field(default=None, max_length=60)
    listed_on: str | None = Field(default=None, max_length=20)
    products: list[ProductPatch] | None = Field(default=None, max_length=200)
    tags: list[str] | None = Field(default=None, max_length=50)
    contact: Contact | None = None


class FirmPublic(FirmBase):
    id: str
    products: list[ProductPublic]
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class FirmAdminPublic(FirmPublic):
    contact: Contact | None = None


class Firm(FirmBase, table=True):
    __tablename__ = "firm"
    __table_args__ = (Index("ix_firm_revision", "revision"),)

    id: str = Field(primary_key=True, max_length=64)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    # sha256 of the normalised record: re-sent records are recognised as unchanged.
    content_hash: str = Field(max_length=64)
    revision: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class FirmProduct(SQLModel, table=True):
    __tablename__ = "firm_product"

    id: int | None = Field(default=None, primary_key=True)
    firm_id: str = Field(foreign_key="firm.id", index=True, max_length=64)
    position: int = 0
    name: str = Field(max_length=200, index=True)
    share: float | None = None


class FirmTag(SQLModel, table=True):
    __tablename__ = "firm_tag"

    firm_id: str = Field(foreign_key="firm.id", primary_key=True, max_length=64)
    tag: str = Field(primary_key=True, max_length=40, index=True)
