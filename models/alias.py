"""Product aliases managed by administrators: an abbreviation, English name, formula or trade
synonym (``XYZ-9``, ``PMT``, ``烧碱``) and the product name it stands for (``涡轮分子泵``).

Only the ``user`` source lives in the database; the shipped tables (``curated``, ``cedict``) and the
aliases mined from the corpus live in the engine (:mod:`recommender.aliases`) and are listed beside
these by ``GET /v1/product-aliases``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator
from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import NormText, utcnow

ALIAS_MAX_LENGTH = 100
CANONICAL_MAX_LENGTH = 200


_FIELDS = {
    "alias": ("别名 alias", ALIAS_MAX_LENGTH),
    "canonical": ("产品名称 canonical", CANONICAL_MAX_LENGTH),
}


class AliasSource(StrEnum):
    CURATED = "curated"  # data/aliases/curated.tsv
    CEDICT = "cedict"  # data/aliases/cedict.tsv (CC-CEDICT)
    CORPUS = "corpus"  # mined from the registry's product names
    USER = "user"  # added by an administrator (this table)


class ProductAliasBase(SQLModel):
    alias: NormText = Field(max_length=ALIAS_MAX_LENGTH, description="缩写、英文名、化学式或俗名，如 PMT")
    canonical: NormText = Field(
        max_length=CANONICAL_MAX_LENGTH, index=True, description="登记的产品名称，如 光电倍增管"
    )


class ProductAliasCreate(ProductAliasBase):
    """``POST /v1/product-aliases`` and ``chainmatch aliases add``."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    @field_validator("alias", "canonical", mode="before")
    @classmethod
    def _text(cls, value: object, info: ValidationInfo) -> object:
        """Checked before the generic rules, so that the message is Chinese and names the field."""
        from recommender.text import normalize_text

        label, limit = _FIELDS[str(info.field_name)]
        if not isinstance(value, str):
            raise ValueError(f"{label} 须为文本 (must be a string)")
        if len(value) > limit:
            raise ValueError(f"{label} 最长 {limit} 个字符 (at most {limit} characters)")
        if not normalize_text(value):
            raise ValueError(f"{label} 不能为空 (must not be blank)")
        return value

    @model_validator(mode="after")
    def _not_itself(self) -> ProductAliasCreate:
        from recommender.aliases import alias_key

        if alias_key(self.alias) == alias_key(self.canonical):
            raise ValueError("别名 alias 不能与产品名称 canonical 相同 (alias must differ from canonical)")
        return self


class ProductAliasPublic(ProductAliasBase):
    id: int | None = Field(default=None, description="user aliases only: the id to DELETE")
    source: AliasSource
    created_at: datetime | None = None


class ProductAlias(ProductAliasBase, table=True):
    __tablename__ = "product_alias"
    __table_args__ = (UniqueConstraint("key", "canonical", name="uq_product_alias"),)

    id: int | None = Field(default=None, primary_key=True)
    # The look-up key of the alias (recommender.aliases.alias_key: normalised, lower-case, no
    # spaces): PMT, pmt and ＰＭＴ are one alias.
    key: str = Field(max_length=ALIAS_MAX_LENGTH, index=True)
    created_by_key_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
