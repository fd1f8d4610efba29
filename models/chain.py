"""Industry chains (产业链图谱): nodes (products / technologies) in segments, with upstream-of edges.

A chain is public planning data, visible to bureaus and admins. Its ``region`` is the default region
it is assessed for; a bureau may assess any chain for its own region.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, StringConstraints, field_validator, model_validator
from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import NormText, OptNormText, enum_type, utcnow
from models.gap import RegionIn
from models.regions import is_known_province, normalize_city, normalize_province
from recommender.text import normalize_key, normalize_text

CHAIN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
NODE_ID_PATTERN = r"^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9_.\-\u4e00-\u9fff]{0,63}$"
MAX_NODES = 300
MAX_EDGES = 2000
MAX_PRODUCTS_PER_NODE = 60


class Segment(StrEnum):
    UPSTREAM = "upstream"  # materials, components, core parts (上游)
    MIDSTREAM = "midstream"  # the chain's own products, usually the leaders' (中游)
    DOWNSTREAM = "downstream"  # applications and markets (下游)


class ChainSource(StrEnum):
    FILE = "file"  # a JSON/YAML definition file
    GRAPH = "graph"  # built from the product graph by walking relations
    API = "api"  # sent to the API


class ChainNodeIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    id: str = Field(max_length=64, regex=NODE_ID_PATTERN, description="unique within the chain")
    name: NormText = Field(max_length=200)
    segment: Segment
    products: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list,
        max_length=MAX_PRODUCTS_PER_NODE,
        description="product / technology names makers list, e.g. 涡轮分子泵; default: the node name",
    )
    description: OptNormText = Field(default=None, max_length=2000)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("products", mode="after")
    @classmethod
    def _products(cls, value: list[str]) -> list[str]:
        """Normalised (NFKC, simplified), blanks dropped, duplicates merged, order kept."""
        seen: dict[str, str] = {}
        for raw in value:
            text = normalize_text(raw)
            if text:
                seen.setdefault(normalize_key(text), text)
        return list(seen.values())

    @model_validator(mode="after")
    def _default_product(self) -> ChainNodeIn:
        if not self.products:
            self.products = [self.name]
        return self


class ChainEdgeIn(SQLModel):
    """``source`` is upstream of ``target`` (source supplies target)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    source: str = Field(max_length=64)
    target: str = Field(max_length=64)


class ChainBase(SQLModel):
    name: NormText = Field(max_length=200, description="e.g. 精密仪器设备")
    description: OptNormText = Field(default=None, max_length=4000)


def _check_graph(nodes: list[ChainNodeIn], edges: list[ChainEdgeIn]) -> None:
    ids = [n.id for n in nodes]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"节点 id 重复 (duplicate node ids): {', '.join(duplicates)}")
    known = set(ids)
    seen: set[tuple[str, str]] = set()
    for edge in edges:
        missing = [x for x in (edge.source, edge.target) if x not in known]
        if missing:
            raise ValueError(f"边引用了不存在的节点 (edge names unknown node): {', '.join(missing)}")
        if edge.source == edge.target:
            raise ValueError(f"边的起点与终点相同 (self-loop): {edge.source}")
        if (edge.source, edge.target) in seen:
            raise ValueError(f"边重复 (duplicate edge): {edge.source} → {edge.target}")
        seen.add((edge.source, edge.target))


def _check_region(region: RegionIn | None) -> None:
    if region is None:
        return
    if not is_known_province(normalize_province(region.province)):
        raise ValueError(f"未知省份 {region.province} (unknown province): 例如 广东省 / 广东 / 粤")
    if len(normalize_city(region.city) or "") > 60:
        raise ValueError("城市名称过长 (city name too long)")


class ChainDefinition(ChainBase):
    """Nodes and edges, validated: unique node ids, edges between known nodes, no self-loops."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    region: RegionIn | None = Field(default=None, description="default region the chain is assessed for")
    nodes: list[ChainNodeIn] = Field(min_length=1, max_length=MAX_NODES)
    edges: list[ChainEdgeIn] = Field(default_factory=list, max_length=MAX_EDGES)

    @model_validator(mode="after")
    def _graph(self) -> ChainDefinition:
        _check_region(self.region)
        _check_graph(self.nodes, self.edges)
        return self


class ChainCreate(ChainDefinition):
    """A chain definition file (data/sample/chain.json) or ``POST /v1/chains``."""

    id: str = Field(
        max_length=64, regex=CHAIN_ID_PATTERN, description="stable id, e.g. precision-instruments-gd"
    )


class ChainUpdate(ChainDefinition):
    """Replaces name, description, region, nodes and edges; the version goes up."""


class ChainFromGraph(SQLModel):
    """Build a chain by walking the product graph from ``products`` (they become midstream nodes)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    id: str = Field(max_length=64, regex=CHAIN_ID_PATTERN)
    name: NormText = Field(max_length=200)
    description: OptNormText = Field(default=None, max_length=4000)
    region: RegionIn | None = None
    products: list[NormText] = Field(min_length=1, max_length=20, description="start products, e.g. 质谱仪")
    upstream_depth: int = Field(default=2, ge=1, le=4, description="upstream_material steps to walk")
    downstream_depth: int = Field(default=1, ge=0, le=2, description="steps towards products that use them")
    subclass_depth: int = Field(default=1, ge=0, le=3, description="narrower kinds grouped into each node")
    max_nodes: int = Field(default=40, ge=2, le=MAX_NODES)

    @model_validator(mode="after")
    def _region(self) -> ChainFromGraph:
        _check_region(self.region)
        return self


class ChainNodePublic(SQLModel):
    id: str
    name: str
    segment: Segment
    products: list[str]
    description: str | None = None


class ChainEdgePublic(SQLModel):
    source: str
    target: str


class ChainSummary(ChainBase):
    id: str
    region_province: str | None
    region_city: str | None
    source: ChainSource
    version: int
    n_nodes: int
    n_edges: int
    segments: dict[str, int]
    updated_at: datetime


class ChainPublic(ChainBase):
    id: str
    region_province: str | None
    region_city: str | None
    source: ChainSource
    version: int
    nodes: list[ChainNodePublic]
    edges: list[ChainEdgePublic]
    created_at: datetime
    updated_at: datetime


class Chain(ChainBase, table=True):
    __tablename__ = "chain"

    id: str = Field(primary_key=True, max_length=64)
    region_province: str | None = Field(default=None, index=True, max_length=40)
    region_city: str | None = Field(default=None, max_length=60)
    source: ChainSource = Field(default=ChainSource.API, sa_type=enum_type(ChainSource))
    version: int = 1
    created_by_key_id: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True)))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class ChainNode(SQLModel, table=True):
    __tablename__ = "chain_node"
    __table_args__ = (UniqueConstraint("chain_id", "key", name="uq_chain_node_key"),)

    id: int | None = Field(default=None, primary_key=True)
    chain_id: str = Field(foreign_key="chain.id", index=True, max_length=64)
    key: str = Field(max_length=64)  # the node id within its chain
    position: int = 0
    name: str = Field(max_length=200)
    segment: Segment = Field(sa_type=enum_type(Segment))
    products: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=2000)


class ChainEdge(SQLModel, table=True):
    __tablename__ = "chain_edge"
    __table_args__ = (UniqueConstraint("chain_id", "source", "target", name="uq_chain_edge"),)

    id: int | None = Field(default=None, primary_key=True)
    chain_id: str = Field(foreign_key="chain.id", index=True, max_length=64)
    source: str = Field(max_length=64)
    target: str = Field(max_length=64)
