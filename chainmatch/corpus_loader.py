"""Read the engine's corpus (FirmDoc, Relation) out of the database, fast enough for 100k firms."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from models.firm import Firm, FirmProduct, FirmTag
from models.relation import ProductRelation
from recommender.corpus import FirmDoc, Product, Relation, RelationKind

_CHUNK = 500


def _docs(session: Session, firms: Sequence[Firm]) -> list[FirmDoc]:
    ids = [f.id for f in firms]
    products: dict[str, list[tuple[int, Product]]] = defaultdict(list)
    tags: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK) if len(ids) <= 20 * _CHUNK else [None]:
        # Small sets are fetched by id; a whole-corpus load reads the child tables once.
        prod_q = select(FirmProduct.firm_id, FirmProduct.position, FirmProduct.name, FirmProduct.share)
        tag_q = select(FirmTag.firm_id, FirmTag.tag)
        if start is not None:
            chunk = ids[start : start + _CHUNK]
            prod_q = prod_q.where(col(FirmProduct.firm_id).in_(chunk))
            tag_q = tag_q.where(col(FirmTag.firm_id).in_(chunk))
        for firm_id, position, name, share in session.exec(prod_q):
            products[firm_id].append((position, Product(name=name, share=share)))
        for firm_id, tag in session.exec(tag_q):
            tags[firm_id].append(tag)
    return [
        FirmDoc(
            id=f.id,
            name=f.name,
            fullname=f.fullname,
            province=f.province,
            city=f.city,
            country=f.country,
            industry=tuple(f.industry or ()),
            products=tuple(p for _, p in sorted(products.get(f.id, []), key=lambda x: x[0])),
            tags=tuple(sorted(tags.get(f.id, []))),
            scale=str(f.scale.value if hasattr(f.scale, "value") else f.scale),
            description=f.description,
        )
        for f in firms
    ]


def load_firm_docs(session: Session) -> list[FirmDoc]:
    firms = session.exec(select(Firm).where(col(Firm.deleted_at).is_(None)).order_by(Firm.id)).all()
    return _docs(session, firms)


def load_changed_firms(session: Session, since_revision: int) -> tuple[list[FirmDoc], list[str]]:
    """Firms written after ``since_revision``: (live firms to upsert, ids of deleted firms)."""
    firms = session.exec(select(Firm).where(Firm.revision > since_revision)).all()
    live = [f for f in firms if f.deleted_at is None]
    deleted = [f.id for f in firms if f.deleted_at is not None]
    return _docs(session, live), deleted


def load_relations(session: Session) -> list[Relation]:
    # A fixed order: the encoder fitted on them is then the same on SQLite and PostgreSQL.
    rows: Iterable[tuple[str, str, str]] = session.exec(
        select(ProductRelation.product, ProductRelation.relation, ProductRelation.target).order_by(
            col(ProductRelation.id)
        )
    )
    return [Relation(product=p, relation=RelationKind(r), target=t) for p, r, t in rows]
