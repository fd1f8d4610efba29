"""Read the engine's corpus (FirmDoc, Relation) out of the database, fast enough for 100k firms.

Rows are read as plain column tuples, not ORM entities: an index catch-up after a bulk upsert of
1,000 firms reads ~12k product rows, and the ORM's per-entity bookkeeping cost more than the query
(~100 → ~60 ms of CPU per 1,000 firms at 100k).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.firm import Firm, FirmProduct, FirmTag
from models.relation import ProductRelation
from recommender.corpus import FirmDoc, Product, Relation, RelationKind

_CHUNK = 500  # ids per IN (...) clause
_FIRM_FIELDS = (
    "id",
    "name",
    "fullname",
    "province",
    "city",
    "country",
    "industry",
    "scale",
    "description",
    "deleted_at",
)
_FIRM_COLUMNS = tuple(col(getattr(Firm, name)) for name in _FIRM_FIELDS)
Products = dict[str, list[tuple[int, Product]]]
Tags = dict[str, list[str]]


def _children(session: Session, *conditions: Any, join: bool = False) -> tuple[Products, Tags]:
    """Products and tags of the firms ``conditions`` select: on Firm when ``join``, else on the
    child tables' ``firm_id``; no condition reads the whole tables."""
    products: Products = defaultdict(list)
    tags: Tags = defaultdict(list)
    prod_q = select(FirmProduct.firm_id, FirmProduct.position, FirmProduct.name, FirmProduct.share)
    tag_q = select(FirmTag.firm_id, FirmTag.tag)
    if join:
        prod_q = prod_q.join(Firm, col(Firm.id) == col(FirmProduct.firm_id))
        tag_q = tag_q.join(Firm, col(Firm.id) == col(FirmTag.firm_id))
    for condition in conditions:
        prod_q, tag_q = prod_q.where(condition(FirmProduct)), tag_q.where(condition(FirmTag))
    connection = session.connection()  # Core rows: the ORM's result processing cost ~40% of this read
    for firm_id, position, name, share in connection.execute(prod_q):
        products[firm_id].append((position, Product(name=name, share=share)))
    for firm_id, tag in connection.execute(tag_q):
        tags[firm_id].append(tag)
    return products, tags


def _assemble(firm_rows: Iterable[Sequence[Any]], products: Products, tags: Tags) -> list[FirmDoc]:
    """FirmDocs of ``firm_rows`` (tuples of ``_FIRM_FIELDS``), in their order."""
    return [
        FirmDoc(
            id=fid,
            name=name,
            fullname=fullname,
            province=province,
            city=city,
            country=country,
            industry=tuple(industry or ()),
            products=tuple(p for _, p in sorted(products.get(fid, []), key=lambda x: x[0])),
            tags=tuple(sorted(tags.get(fid, []))),
            scale=str(scale.value if hasattr(scale, "value") else scale),
            description=description,
        )
        for fid, name, fullname, province, city, country, industry, scale, description, _ in firm_rows
    ]


def _docs(session: Session, firms: Sequence[Firm]) -> list[FirmDoc]:
    """FirmDocs of some loaded firms (a shard's subset: chainmatch.sharding.shard)."""
    ids = [f.id for f in firms]
    products: Products = {}
    tags: Tags = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        p, t = _children(session, lambda table, chunk=chunk: col(table.firm_id).in_(chunk))
        products.update(p)
        tags.update(t)
    rows = [tuple(getattr(f, name) for name in _FIRM_FIELDS) for f in firms]
    return _assemble(rows, products, tags)


def load_firm_docs(session: Session) -> list[FirmDoc]:
    rows = session.execute(
        sa.select(*_FIRM_COLUMNS).where(col(Firm.deleted_at).is_(None)).order_by(col(Firm.id))
    ).all()
    # One read of each child table (deleted firms' rows are read too and not used).
    return _assemble(rows, *_children(session))


def load_changed_firms(session: Session, since_revision: int) -> tuple[list[FirmDoc], list[str]]:
    """Firms written after ``since_revision``: (live firms to upsert, ids of deleted firms)."""
    rows = session.execute(sa.select(*_FIRM_COLUMNS).where(col(Firm.revision) > since_revision)).all()
    live = [r for r in rows if r[-1] is None]
    deleted = [r[0] for r in rows if r[-1] is not None]
    # The children through ix_firm_revision in one join, instead of chunks of ids.
    changed = (col(Firm.revision) > since_revision) & col(Firm.deleted_at).is_(None)
    return _assemble(live, *_children(session, lambda _table: changed, join=True)), deleted


def load_relations(session: Session) -> list[Relation]:
    # A fixed order: the encoder fitted on them is then the same on SQLite and PostgreSQL.
    rows: Iterable[tuple[str, str, str]] = session.exec(
        select(ProductRelation.product, ProductRelation.relation, ProductRelation.target).order_by(
            col(ProductRelation.id)
        )
    )
    return [Relation(product=p, relation=RelationKind(r), target=t) for p, r, t in rows]
