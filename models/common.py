"""Shared column types and validators."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, BeforeValidator

from recommender.text import normalize_text


def enum_type(enum: type[StrEnum]) -> sa.Enum:
    """Store an enum by its value ('upstream_material', not 'UPSTREAM_MATERIAL') as plain VARCHAR:
    readable in SQL, and no PostgreSQL enum type to migrate when a value is added."""
    return sa.Enum(
        enum,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        length=max(len(m.value) for m in enum) + 8,
        validate_strings=True,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class Scale(StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    UNKNOWN = "unknown"


def _norm_optional(value: object) -> object:
    if isinstance(value, str):
        text = normalize_text(value)
        return text or None
    return value


def _norm_required(value: object) -> object:
    return normalize_text(value) if isinstance(value, str) else value


def _norm_name(value: object) -> object:
    return normalize_text(value, simplify=False) if isinstance(value, str) else value


def _norm_optional_name(value: object) -> object:
    return (normalize_text(value, simplify=False) or None) if isinstance(value, str) else value


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("不能为空 (must not be blank)")
    return value


# Texts are normalised (NFKC: full-width → half-width, trimmed, control characters dropped,
# traditional → simplified) on the way in — after type and length checks, so that max_length
# holds for the text as sent, as the OpenAPI schema says.
NormText = Annotated[str, AfterValidator(_norm_required), AfterValidator(_not_blank)]
OptNormText = Annotated[str | None, AfterValidator(_norm_optional)]
# Registered names keep their characters (乾照光电 is not 干照光电): NFKC and white space only.
NameText = Annotated[str, AfterValidator(_norm_name), AfterValidator(_not_blank)]
OptNameText = Annotated[str | None, AfterValidator(_norm_optional_name)]


# ------------------------------------------------------------------------------- numbers
# Finite numbers only, wherever a number enters (JSON bodies, import files, spreadsheets): NaN and
# ±inf (JSON 1e999, CSV "inf") are refused with the field named, so no page, report or export
# ever meets them. Checked before the type's own constraints, so the message is this one.
NOT_FINITE = "须为有限数值，不能是 NaN 或无穷大 (must be a finite number, not NaN or infinity)"
MAX_CNY = 1e15  # 1,000 万亿元: beyond any firm's revenue or any item's annual demand
MAX_EMPLOYEES = 10_000_000


def finite_input(value: object) -> object:
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value  # not a number at all: the type's own check says so
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(NOT_FINITE)
    return value


def _finite_output(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(NOT_FINITE)
    return value


FiniteFloat = Annotated[float, BeforeValidator(finite_input), AfterValidator(_finite_output)]
OptFiniteFloat = Annotated[float | None, BeforeValidator(finite_input), AfterValidator(_finite_output)]
