"""Shared column types and validators."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from recommender.text import normalize_text


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


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("不能为空 (must not be blank)")
    return value


# Texts are normalised (NFKC: full-width → half-width, trimmed, traditional → simplified) on the way in.
NormText = Annotated[str, BeforeValidator(_norm_required), AfterValidator(_not_blank)]
OptNormText = Annotated[str | None, BeforeValidator(_norm_optional)]
