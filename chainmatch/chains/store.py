"""Chains in the registry: load definition files (JSON or YAML), create, replace, delete, read.

Chains are public planning data: every bureau and admin may read every chain. Writing is for admin
and for bureaus on chains of their own region.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import delete
from sqlmodel import Session, col, select

from chainmatch.chains.scope import within
from chainmatch.errors import ChainError, ChainExists, ChainNotFound, RegionForbidden
from chainmatch.keys import Principal
from chainmatch.labels import place
from models import mapping
from models.apikey import Role
from models.chain import (
    Chain,
    ChainCreate,
    ChainDefinition,
    ChainEdge,
    ChainNode,
    ChainNodePublic,
    ChainPublic,
    ChainSource,
    ChainSummary,
)
from models.common import utcnow
from models.regions import normalize_city, normalize_province
from recommender.corpus import Region

logger = logging.getLogger(__name__)


def read_definition_file(path: Path) -> ChainCreate:
    """A chain definition from a ``.json``, ``.yaml`` or ``.yml`` file (UTF-8, BOM or not)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChainError(f"无法读取 {path.name}: {exc} (cannot read the file)") from exc
    try:
        data: Any = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ChainError(f"{path.name} 不是有效的 JSON/YAML: {exc} (not valid JSON/YAML)") from exc
    return parse_definition(data, name=path.name)


def parse_definition(data: Any, *, name: str = "chain") -> ChainCreate:
    if not isinstance(data, dict):
        raise ChainError(f"{name}: 链定义应为一个对象 (a chain definition is one object)")
    try:
        return ChainCreate.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '—'}: {e['msg']}" for e in exc.errors()[:10]
        )
        raise ChainError(f"{name}: 链定义无效 (invalid chain definition): {problems}") from exc


def _region_of(body: ChainDefinition) -> tuple[str | None, str | None]:
    if body.region is None:
        return None, None
    return normalize_province(body.region.province), normalize_city(body.region.city)


def check_writable(principal: Principal, province: str | None, city: str | None) -> None:
    """Admin writes any chain; a bureau only chains whose region lies in its own."""
    if principal.role is Role.ADMIN:
        return
    if principal.role is not Role.BUREAU or not within(principal, province, city):
        raise RegionForbidden(
            "招商局只能维护本辖区的产业链 (a bureau maintains only its own region's chains)"
        )


def _region_name(chain: Chain) -> str:
    return place(chain.region_province, chain.region_city) if chain.region_province else "无区域的产业链"


def live_chain(session: Session, chain_id: str) -> Chain:
    chain = session.get(Chain, chain_id)
    if chain is None or chain.deleted_at is not None:
        raise ChainNotFound(f"产业链 {chain_id} 不存在 (chain not found)")
    return chain


def _write_graph(session: Session, chain_id: str, body: ChainDefinition) -> None:
    session.exec(delete(ChainNode).where(col(ChainNode.chain_id) == chain_id))
    session.exec(delete(ChainEdge).where(col(ChainEdge.chain_id) == chain_id))
    for position, node in enumerate(body.nodes):
        session.add(
            ChainNode(
                chain_id=chain_id,
                key=node.id,
                position=position,
                name=node.name,
                segment=node.segment,
                products=list(node.products),
                description=node.description,
            )
        )
    for edge in body.edges:
        session.add(ChainEdge(chain_id=chain_id, source=edge.source, target=edge.target))


def create_chain(
    session: Session,
    body: ChainCreate,
    *,
    principal: Principal | None = None,
    source: ChainSource = ChainSource.API,
) -> Chain:
    province, city = _region_of(body)
    if principal is not None:
        if principal.role is Role.BUREAU and province is None:
            province, city = principal.province, principal.city
        check_writable(principal, province, city)
    existing = session.get(Chain, body.id)
    if existing is not None and existing.deleted_at is None:
        raise ChainExists(f"产业链 {body.id} 已存在，请用 PUT 修改 (chain exists: use PUT)")
    if existing is not None and (existing.region_province, existing.region_city) != (province, city):
        # A deleted id stays reserved to its region: outreach records and audit rows of that region
        # still name it, and must never come to mean another region's chain.
        raise ChainExists(
            f"产业链 id {body.id} 已被{_region_name(existing)}使用（已删除的 id 仍为原区域保留），请换一个 id "
            f"(the id of a deleted chain stays reserved to its region)"
        )
    if existing is not None:  # re-created after a delete: same id, same region, next version
        chain = existing
        chain.deleted_at = None
        chain.version += 1
        chain.created_at = chain.updated_at = utcnow()
    else:
        chain = Chain(id=body.id, name=body.name)
    chain.name, chain.description = body.name, body.description
    chain.region_province, chain.region_city = province, city
    chain.source = source
    chain.created_by_key_id = principal.key_id if principal else None
    session.add(chain)
    session.flush()
    _write_graph(session, chain.id, body)
    session.flush()
    return chain


def replace_chain(
    session: Session,
    chain: Chain,
    body: ChainDefinition,
    *,
    principal: Principal | None = None,
    source: ChainSource | None = None,
) -> Chain:
    province, city = _region_of(body)
    if principal is not None:
        check_writable(principal, chain.region_province, chain.region_city)
        if principal.role is Role.BUREAU and province is None:
            province, city = principal.province, principal.city
        check_writable(principal, province, city)
    chain.name, chain.description = body.name, body.description
    chain.region_province, chain.region_city = province, city
    if source is not None:
        chain.source = source
    chain.version += 1
    chain.updated_at = utcnow()
    session.add(chain)
    _write_graph(session, chain.id, body)
    session.flush()
    return chain


def delete_chain(session: Session, chain: Chain, *, principal: Principal | None = None) -> None:
    if principal is not None:
        check_writable(principal, chain.region_province, chain.region_city)
    chain.deleted_at = utcnow()
    session.add(chain)


def import_chain(session: Session, body: ChainCreate, *, source: ChainSource = ChainSource.FILE) -> str:
    """Create, or replace when the content differs: 'created', 'updated' or 'unchanged'."""
    existing = session.get(Chain, body.id)
    if existing is None or existing.deleted_at is not None:
        create_chain(session, body, source=source)
        return "created"
    current = to_definition(session, existing)
    if current.model_dump(mode="json") == ChainDefinition.model_validate(
        body.model_dump(exclude={"id"})
    ).model_dump(mode="json"):
        return "unchanged"
    replace_chain(session, existing, body, source=source)
    return "updated"


def nodes_of(session: Session, chain: Chain) -> list[ChainNode]:
    return list(
        session.exec(
            select(ChainNode).where(ChainNode.chain_id == chain.id).order_by(col(ChainNode.position))
        )
    )


def edges_of(session: Session, chain: Chain) -> list[ChainEdge]:
    return list(
        session.exec(select(ChainEdge).where(ChainEdge.chain_id == chain.id).order_by(col(ChainEdge.id)))
    )


def to_public(session: Session, chain: Chain) -> ChainPublic:
    nodes = [mapping.to_public(ChainNodePublic, n, id=n.key) for n in nodes_of(session, chain)]
    return mapping.to_public(ChainPublic, chain, nodes=nodes, edges=edges_of(session, chain))


def to_definition(session: Session, chain: Chain) -> ChainDefinition:
    public = to_public(session, chain)
    region = None
    if chain.region_province:
        region = {"province": chain.region_province, "city": chain.region_city}
    return ChainDefinition.model_validate(
        {
            "name": public.name,
            "description": public.description,
            "region": region,
            "nodes": [n.model_dump(mode="json") for n in public.nodes],
            "edges": [e.model_dump(mode="json") for e in public.edges],
        }
    )


def list_chains(session: Session) -> list[ChainSummary]:
    chains = session.exec(select(Chain).where(col(Chain.deleted_at).is_(None)).order_by(col(Chain.id))).all()
    ids = [c.id for c in chains]
    segments: dict[str, Counter[str]] = {i: Counter() for i in ids}
    edges: Counter[str] = Counter()
    if ids:
        for chain_id, segment in session.exec(
            select(ChainNode.chain_id, ChainNode.segment).where(col(ChainNode.chain_id).in_(ids))
        ):
            segments[chain_id][str(getattr(segment, "value", segment))] += 1
        for chain_id in session.exec(select(ChainEdge.chain_id).where(col(ChainEdge.chain_id).in_(ids))):
            edges[chain_id] += 1
    return [
        ChainSummary(
            id=c.id,
            name=c.name,
            description=c.description,
            region_province=c.region_province,
            region_city=c.region_city,
            source=c.source,
            version=c.version,
            n_nodes=sum(segments[c.id].values()),
            n_edges=edges[c.id],
            segments=dict(segments[c.id]),
            updated_at=c.updated_at,
        )
        for c in chains
    ]


def default_region(chain: Chain) -> Region | None:
    return Region(chain.region_province, chain.region_city) if chain.region_province else None
