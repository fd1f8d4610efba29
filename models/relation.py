"""Product graph edges: upstream materials, subclasses, downstream products."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import NormText, enum_type
from recommender.corpus import RelationKind


class ProductRelationBase(SQLModel):
    product: NormText = Field(max_length=200, index=True)
    relation: RelationKind = Field(sa_type=enum_type(RelationKind))
    target: NormText = Field(max_length=200, index=True)


class ProductRelationCreate(ProductRelationBase):
    pass


class ProductRelationPublic(ProductRelationBase):
    id: int


class ProductRelation(ProductRelationBase, table=True):
    __tablename__ = "product_relation"
    __table_args__ = (UniqueConstraint("product", "relation", "target", name="uq_product_relation"),)

    id: int | None = Field(default=None, primary_key=True)
