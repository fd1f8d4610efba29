"""Build a chain from the product graph: start products become midstream nodes; walking
``upstream_material`` relations gives the upstream segment, walking them backwards (and
``downstream_product`` relations) gives the downstream segment.

Each node groups a product with its narrower kinds (``subclass`` relations, ``subclass_depth`` steps),
so 分子泵 and 涡轮分子泵 are one link of the chain. A start product also inherits the upstream needs of
its broader kinds (三重四极杆质谱仪 needs what 质谱仪 needs). When there are more candidate nodes than
``max_nodes``, those with makers in the registry come first — a node nobody makes anywhere is kept
only while there is room, and beyond the direct needs (the first upstream step) only materials that
some firm makes are followed: deeper steps of a real product graph are mostly noise otherwise.
Names mined from text that are not names (``半导体二极管(``, ``是金属聚合物``) never become nodes or kinds.
"""

from __future__ import annotations

import re

from chainmatch.chains.corpus import CorpusView
from chainmatch.errors import ChainError
from models.chain import MAX_PRODUCTS_PER_NODE, ChainCreate, ChainFromGraph, Segment
from models.regions import normalize_city, normalize_province
from recommender.products import is_well_formed
from recommender.text import normalize_key

_NODE_ID_BAD = re.compile(r"[^A-Za-z0-9_.\-\u4e00-\u9fff]+")
PRODUCTS_PER_NODE = 20


class _Builder:
    def __init__(self, view: CorpusView, request: ChainFromGraph) -> None:
        self.view = view
        self.request = request
        self.nodes: dict[str, dict[str, object]] = {}  # node id → node (ordered)
        self.node_of: dict[str, str] = {}  # product key → node id
        self.edges: list[tuple[str, str]] = []
        self.used_ids: set[str] = set()

    def _node_id(self, name: str) -> str:
        base = _NODE_ID_BAD.sub("-", name).strip("-._")[:48] or "node"
        if not re.match(r"[A-Za-z0-9\u4e00-\u9fff]", base):
            base = f"n{base}"
        candidate, n = base, 2
        while candidate in self.used_ids:
            candidate, n = f"{base}-{n}", n + 1
        self.used_ids.add(candidate)
        return candidate

    def _makers(self, key: str) -> int:
        return len(self.view.makers([self.view.name(key)], depth=self.request.subclass_depth))

    def _well_formed(self, key: str) -> bool:
        return is_well_formed(self.view.name(key))

    def _products(self, key: str) -> list[str]:
        narrower = self.view.narrower(key, self.request.subclass_depth)
        rest = sorted(
            (k for k in narrower[1:] if self._well_formed(k)),
            key=lambda k: (-len(self.view.makers_by_key.get(k, {})), self.view.name(k)),
        )
        keys = [key, *rest][: min(PRODUCTS_PER_NODE, MAX_PRODUCTS_PER_NODE)]
        return [k for k in keys if k not in self.node_of or self.node_of[k] is None]

    def add_node(self, key: str, segment: Segment) -> str:
        if key in self.node_of:
            return self.node_of[key]
        name = self.view.name(key)
        node_id = self._node_id(name)
        products = self._products(key)
        self.nodes[node_id] = {
            "id": node_id,
            "name": name,
            "segment": segment.value,
            "products": [self.view.name(k) for k in products],
        }
        for k in products:
            self.node_of.setdefault(k, node_id)
        return node_id

    def members(self, node_id: str) -> list[str]:
        return [normalize_key(p) for p in self.nodes[node_id]["products"]]  # type: ignore[attr-defined]

    def edge(self, source: str, target: str) -> None:
        if source != target and (source, target) not in self.edges:
            self.edges.append((source, target))

    def _rank(self, keys: list[str]) -> list[str]:
        return sorted(keys, key=lambda k: (-min(self._makers(k), 50), self.view.name(k)))

    def build(self) -> ChainCreate:
        view, request = self.view, self.request
        starts: list[str] = []
        for product in request.products:
            key = normalize_key(product)
            known = (
                key in view.makers_by_key
                or key in view.upstream
                or key in view.children
                or key in view.parents
                or key in view.used_by
            )
            if not known:
                raise ChainError(f"产品图谱与企业库中都没有 {product} (unknown product: {product})")
            if key not in starts:
                starts.append(key)
        budget = request.max_nodes
        down_budget = 0 if request.downstream_depth == 0 else max(2, budget // 5)
        up_budget = budget - len(starts) - down_budget
        if up_budget < 1:
            raise ChainError("max_nodes 太小 (max_nodes too small for the start products)")
        midstream = [self.add_node(key, Segment.MIDSTREAM) for key in starts]

        # upstream: breadth first, a level at a time, best-supplied candidates first
        frontier = list(dict.fromkeys(midstream))
        for level in range(request.upstream_depth):
            wanted: dict[str, set[str]] = {}  # material key → node ids needing it
            for node_id in frontier:
                sources = set(self.members(node_id))
                if level == 0:
                    for key in list(sources):
                        sources.update(view.broader(key))
                for key in sorted(sources):
                    for material in view.upstream.get(key, ()):
                        if self._well_formed(material):
                            wanted.setdefault(material, set()).add(node_id)
            next_frontier: list[str] = []
            for material in self._rank(list(wanted)):
                existing = self.node_of.get(material)
                if existing is None:
                    if len(self.nodes) - len(midstream) >= up_budget:
                        continue
                    if level > 0 and not self._makers(material):
                        continue  # deeper than direct needs, only what someone makes
                    existing = self.add_node(material, Segment.UPSTREAM)
                    next_frontier.append(existing)
                for target in sorted(wanted[material]):
                    self.edge(existing, target)
            frontier = next_frontier
            if not frontier:
                break
        if len(self.nodes) == len(midstream):
            names = "、".join(request.products)
            raise ChainError(
                f"产品图谱中找不到 {names} 的上游材料或部件 (no upstream_material relations found from the start products)"
            )

        # downstream: what uses the start products (reverse upstream_material, downstream_product)
        frontier = list(midstream)
        added = 0
        for _ in range(request.downstream_depth):
            wanted = {}
            for node_id in frontier:
                for key in self.members(node_id):
                    for user in [*view.used_by.get(key, ()), *view.downstream.get(key, ())]:
                        if self._well_formed(user):
                            wanted.setdefault(user, set()).add(node_id)
            next_frontier = []
            for user in self._rank(list(wanted)):
                existing = self.node_of.get(user)
                if existing is None:
                    if added >= down_budget:
                        continue
                    existing = self.add_node(user, Segment.DOWNSTREAM)
                    next_frontier.append(existing)
                    added += 1
                if self.nodes[existing]["segment"] == Segment.UPSTREAM.value:
                    continue  # a cycle through an upstream material: keep the chain acyclic
                for source in sorted(wanted[user]):
                    self.edge(source, existing)
            frontier = next_frontier

        return ChainCreate.model_validate(
            {
                "id": request.id,
                "name": request.name,
                "description": request.description
                or (
                    f"由产品图谱自动生成：起点 {'、'.join(request.products)}，上游 {request.upstream_depth} 层，"
                    f"下游 {request.downstream_depth} 层 (built from the product graph)"
                ),
                "region": (
                    {
                        "province": normalize_province(request.region.province),
                        "city": normalize_city(request.region.city),
                    }
                    if request.region
                    else None
                ),
                "nodes": list(self.nodes.values()),
                "edges": [{"source": s, "target": t} for s, t in self.edges],
            }
        )


def build_from_graph(view: CorpusView, request: ChainFromGraph) -> ChainCreate:
    """A chain definition walked out of the product graph (not stored: see ``store.create_chain``)."""
    return _Builder(view, request).build()
