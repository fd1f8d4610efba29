"""Who makes what, and how products relate: a read-only view of the registry for chain analysis.

Built from the database (live firms, their products, product relations) and cached per process,
keyed by the corpus revision, so it is rebuilt exactly when a firm or relation write happened.
Product names are compared by :func:`recommender.text.normalize_key`.

A firm *makes* a product when it lists the product, or a narrower kind of it (``subclass``
relations, followed :data:`SUBCLASS_DEPTH` steps down), with a revenue share that is unknown or
positive.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from chainmatch.db import read_state
from models.firm import Firm, FirmProduct, FirmTag
from models.relation import ProductRelation
from recommender.corpus import Region, RelationKind
from recommender.text import normalize_key

logger = logging.getLogger(__name__)

SUBCLASS_DEPTH = 2
ABROAD = "境外"
UNKNOWN_PROVINCE = "未知省份"


@dataclass(frozen=True, slots=True)
class FirmInfo:
    id: str
    name: str
    province: str | None
    city: str | None
    country: str
    scale: str
    tags: tuple[str, ...]
    revenue_cny: float | None

    @property
    def in_china(self) -> bool:
        return self.country == "中国"

    @property
    def place(self) -> str:
        """The bucket used for concentration: the province in China, else the country."""
        if not self.in_china:
            return f"{ABROAD}·{self.country}"
        return self.province or UNKNOWN_PROVINCE

    def inside(self, region: Region) -> bool:
        if not self.in_china or self.province != region.province:
            return False
        return region.city is None or self.city == region.city


@dataclass
class CorpusView:
    firms: dict[str, FirmInfo] = field(default_factory=dict)
    # product key → {firm id: share}
    makers_by_key: dict[str, dict[str, float | None]] = field(default_factory=dict)
    # firm id → [(product name, share)] in the firm's order
    products_of: dict[str, list[tuple[str, float | None]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # key → a display name
    upstream: dict[str, list[str]] = field(default_factory=dict)  # product key → upstream material keys
    used_by: dict[str, list[str]] = field(default_factory=dict)  # material key → product keys using it
    children: dict[str, list[str]] = field(default_factory=dict)  # key → narrower kinds (subclass)
    parents: dict[str, list[str]] = field(default_factory=dict)  # key → broader kinds
    downstream: dict[str, list[str]] = field(default_factory=dict)  # downstream_product relations

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def narrower(self, key: str, depth: int = SUBCLASS_DEPTH) -> list[str]:
        """``key`` and its narrower kinds up to ``depth`` steps, breadth first."""
        seen = {key: None}
        frontier = [key]
        for _ in range(depth):
            nxt = []
            for k in frontier:
                for child in self.children.get(k, ()):
                    if child not in seen:
                        seen[child] = None
                        nxt.append(child)
            frontier = nxt
        return list(seen)

    def broader(self, key: str, depth: int = SUBCLASS_DEPTH) -> list[str]:
        seen = {key: None}
        frontier = [key]
        for _ in range(depth):
            nxt = []
            for k in frontier:
                for parent in self.parents.get(k, ()):
                    if parent not in seen:
                        seen[parent] = None
                        nxt.append(parent)
            frontier = nxt
        return list(seen)

    def makers(self, products: Iterable[str], *, depth: int = SUBCLASS_DEPTH) -> dict[str, float | None]:
        """Firms making any of ``products`` (names) or a narrower kind: firm id → best share."""
        out: dict[str, float | None] = {}
        for product in products:
            for key in self.narrower(normalize_key(product), depth):
                for firm_id, share in self.makers_by_key.get(key, {}).items():
                    old = out.get(firm_id)
                    if firm_id not in out or (share is not None and (old is None or share > old)):
                        out[firm_id] = share
        return out


_CACHED_DATABASES = 4
_lock = threading.Lock()
_cache: dict[str, tuple[tuple[str, int, int], CorpusView]] = {}


def corpus_view(session: Session) -> CorpusView:
    """The view for this database at its current revision (rebuilt only after writes)."""
    state = read_state(session)
    stamp = (state.instance, state.revision, state.relations_revision)
    with _lock:
        cached = _cache.get(state.instance)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    view = _load(session)
    with _lock:
        _cache.pop(state.instance, None)
        _cache[state.instance] = (stamp, view)
        while len(_cache) > _CACHED_DATABASES:  # a process normally serves one database
            _cache.pop(next(iter(_cache)))
    return view


def _append(mapping: dict[str, list[str]], key: str, value: str) -> None:
    values = mapping.setdefault(key, [])
    if value not in values:
        values.append(value)


def _load(session: Session) -> CorpusView:
    view = CorpusView()
    tags: dict[str, list[str]] = defaultdict(list)
    for firm_id, tag in session.exec(select(FirmTag.firm_id, FirmTag.tag)):
        tags[firm_id].append(tag)
    for firm in session.exec(select(Firm).where(col(Firm.deleted_at).is_(None))):
        view.firms[firm.id] = FirmInfo(
            id=firm.id,
            name=firm.name,
            province=firm.province,
            city=firm.city,
            country=firm.country or "中国",
            scale=str(getattr(firm.scale, "value", firm.scale)),
            tags=tuple(sorted(tags.get(firm.id, ()))),
            # a non-finite revenue stored before validation refused them counts as unknown
            revenue_cny=firm.revenue_cny
            if firm.revenue_cny is None or math.isfinite(firm.revenue_cny)
            else None,
        )
    rows = session.exec(
        select(FirmProduct.firm_id, FirmProduct.name, FirmProduct.share).order_by(
            col(FirmProduct.firm_id), col(FirmProduct.position)
        )
    )
    for firm_id, name, share in rows:
        if share is not None and not math.isfinite(share):
            share = None
        if firm_id not in view.firms or (share is not None and share <= 0):
            continue
        key = normalize_key(name)
        view.names.setdefault(key, name)
        view.products_of.setdefault(firm_id, []).append((name, share))
        view.makers_by_key.setdefault(key, {})[firm_id] = share
    for product, relation, target in session.exec(
        select(ProductRelation.product, ProductRelation.relation, ProductRelation.target)
    ):
        p, t = normalize_key(product), normalize_key(target)
        view.names.setdefault(p, product)
        view.names.setdefault(t, target)
        kind = RelationKind(getattr(relation, "value", relation))
        if kind is RelationKind.UPSTREAM_MATERIAL:
            _append(view.upstream, p, t)
            _append(view.used_by, t, p)
        elif kind is RelationKind.SUBCLASS:
            _append(view.children, p, t)
            _append(view.parents, t, p)
        else:
            _append(view.downstream, p, t)
    logger.debug(
        "corpus view: %d firms, %d product keys, %d upstream edges",
        len(view.firms),
        len(view.makers_by_key),
        sum(len(v) for v in view.upstream.values()),
    )
    return view
