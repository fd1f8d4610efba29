"""Product graph: subclass hierarchy and upstream-material links, keyed by :func:`normalize_key`."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from .corpus import Relation, RelationKind
from .text import cached_key as normalize_key
from .text import cached_text as normalize_text


@dataclass(frozen=True, slots=True)
class Expansion:
    """A product related to the query item through the graph."""

    key: str
    via: str  # "subclass" (narrower than the item) | "parent" (broader than the item)
    depth: int
    path: tuple[str, ...]  # display names from the item to ``key``, inclusive


class ProductGraph:
    def __init__(self, relations: Iterable[Relation] = ()) -> None:
        self.children: dict[str, set[str]] = defaultdict(set)
        self.parents: dict[str, set[str]] = defaultdict(set)
        self.materials: dict[str, set[str]] = defaultdict(set)  # product -> upstream materials
        self.used_in: dict[str, set[str]] = defaultdict(set)  # material -> products
        self.names: dict[str, str] = {}
        self.n_relations = 0
        self.add(relations)

    def add(self, relations: Iterable[Relation]) -> None:
        for r in relations:
            p, t = normalize_key(r.product), normalize_key(r.target)
            if not p or not t or p == t:
                continue
            self.names.setdefault(p, normalize_text(r.product))
            self.names.setdefault(t, normalize_text(r.target))
            kind = RelationKind(r.relation)
            if kind is RelationKind.SUBCLASS:
                self.children[p].add(t)
                self.parents[t].add(p)
            elif kind is RelationKind.UPSTREAM_MATERIAL:
                self.materials[p].add(t)
                self.used_in[t].add(p)
            else:  # downstream_product: target is made from product
                self.materials[t].add(p)
                self.used_in[p].add(t)
            self.n_relations += 1

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def __contains__(self, key: str) -> bool:
        return key in self.names

    def expand(self, key: str, *, max_down: int = 2, max_up: int = 1, limit: int = 5000) -> list[Expansion]:
        """Narrower products (breadth-first, up to ``max_down`` levels) and broader ones."""
        out: list[Expansion] = []
        seen = {key}
        queue: deque[tuple[str, int, tuple[str, ...]]] = deque([(key, 0, (self.name(key),))])
        while queue and len(out) < limit:
            node, depth, path = queue.popleft()
            if depth >= max_down:
                continue
            for child in sorted(self.children.get(node, ())):
                if child in seen:
                    continue
                seen.add(child)
                cpath = (*path, self.name(child))
                out.append(Expansion(child, "subclass", depth + 1, cpath))
                queue.append((child, depth + 1, cpath))
        frontier: list[tuple[str, tuple[str, ...]]] = [(key, (self.name(key),))]
        for depth in range(1, max_up + 1):
            nxt: list[tuple[str, tuple[str, ...]]] = []
            for node, path in frontier:
                for parent in sorted(self.parents.get(node, ())):
                    if parent in seen:
                        continue
                    seen.add(parent)
                    ppath = (*path, self.name(parent))
                    out.append(Expansion(parent, "parent", depth, ppath))
                    nxt.append((parent, ppath))
            frontier = nxt
        return out

    def is_material_of(self, material: str, product: str) -> bool:
        return material in self.materials.get(product, ())

    def siblings_in(self, product: str) -> set[str]:
        """Other upstream materials of ``product`` (what the leader product is made of)."""
        return set(self.materials.get(product, ()))

    def to_state(self) -> dict[str, list[list[str]]]:
        sub = [[p, c] for p, cs in self.children.items() for c in sorted(cs)]
        up = [[p, m] for p, ms in self.materials.items() for m in sorted(ms)]
        names = [[k, v] for k, v in self.names.items() if k != v]
        return {"subclass": sub, "upstream_material": up, "names": names}

    @classmethod
    def from_state(cls, state: dict[str, list[list[str]]]) -> ProductGraph:
        g = cls()
        for p, c in state["subclass"]:
            g.children[p].add(c)
            g.parents[c].add(p)
            g.names.setdefault(p, p)
            g.names.setdefault(c, c)
        for p, m in state["upstream_material"]:
            g.materials[p].add(m)
            g.used_in[m].add(p)
            g.names.setdefault(p, p)
            g.names.setdefault(m, m)
        for k, v in state.get("names", []):
            g.names[k] = v
        g.n_relations = len(state["subclass"]) + len(state["upstream_material"])
        return g
