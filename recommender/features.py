"""Per-firm ranking features computed from channel scores and product-graph matches.

Every feature is query-relative but not corpus-relative (no division by the best firm), so the
same model applies to a 4.6k-firm and a 100k-firm index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# Order matters: the trained ranker artifact stores these names and is checked against them.
FEATURE_NAMES: tuple[str, ...] = (
    "tfidf_cap",  # best char 1-2gram TF-IDF cosine over the firm's capability entries
    "tfidf_cap_w",  # max over entries of cosine x (0.5 + 0.5 share)
    "tfidf_prof",  # char TF-IDF cosine with the firm profile
    "bm25_cap",  # best BM25 over capability entries / the query's reference score
    "bm25_cap_w",
    "bm25_prof",
    "dense_cap",  # best dense (encoder) cosine over capability entries
    "dense_cap_w",
    "dense_prof",
    "share_best",  # revenue share of the best-matching capability (char TF-IDF), 0.25 if unknown
    "exact",  # 1 if the firm lists the item itself (same normalised key)
    "exact_share",  # its revenue share (0.25 if unknown)
    "sub1",  # 1 if the firm lists a direct subclass of the item
    "sub_share",  # the largest revenue share among such subclass products
    "sub2",  # 1 if the firm lists a subclass two levels down
    "parent",  # 1 if the firm lists a broader product the item is a kind of
    "ctx",  # 1 if the firm makes another upstream material of the leader's product
    "item_known",  # query-level: the item is a known product (graph or some firm lists it)
    "graph_q",  # list-level: some eligible candidate lists the item or a subclass of it
    "n_caps",  # log1p(number of capability products)
    "kind",  # 1 if the firm lists a product whose name ends with the item's (电子级硫酸 for 硫酸)
    "kind_share",  # the largest revenue share among such products
    "q_conf",  # query-level: confidence of the text's reading (1 for a catalog name)
    "q_guess",  # query-level: 1 if no known product was found and the text's head is searched as typed
)
N_FEATURES = len(FEATURE_NAMES)
FIDX = {n: i for i, n in enumerate(FEATURE_NAMES)}
UNKNOWN_SHARE = 0.25


@dataclass
class ChannelArrays:
    """Firm-level aggregates of one channel (arrays indexed by firm row)."""

    cap: np.ndarray
    cap_w: np.ndarray
    share_best: np.ndarray
    best_entry: np.ndarray
    prof: np.ndarray
    _nonzero: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def nonzero_rows(self, name: str) -> np.ndarray:
        """The rows where array ``name`` is not 0, ascending (kept: every scope of a query reads them)."""
        rows = self._nonzero.get(name)
        if rows is None:
            # != 0 first: numpy's nonzero of a float array is ~20x slower than of a bool one
            rows = self._nonzero[name] = np.flatnonzero(getattr(self, name) != 0)
        return rows


@dataclass(slots=True)
class GraphMatch:
    """One product of one firm matched through the exact key or the product graph.

    The name the firm lists it under is its capability entry's text, read only when asked (an
    answer's explanation): a query expands to thousands of postings, the features need none of
    their names, and reading them all would page in the whole text blob of a mapped index."""

    texts: Sequence[str]  # the entry table's texts
    entry: int  # the capability entry listing the product
    share: float | None
    via: str  # exact | subclass | kind | parent | context
    depth: int = 0
    lead: tuple[str, ...] = ()  # the path from the item, before the listed name
    path_ends_with_name: bool = False

    @property
    def name(self) -> str:
        return self.texts[self.entry]

    @property
    def path(self) -> tuple[str, ...]:
        """Display names from the item to the listed product (empty for context matches)."""
        return (*self.lead, self.name) if self.path_ends_with_name else self.lead


@dataclass
class GraphMatches:
    by_row: dict[int, list[GraphMatch]] = field(default_factory=dict)
    item_known: bool = False
    _nominated: np.ndarray | None = field(default=None, repr=False, compare=False)

    def add(self, row: int, m: GraphMatch) -> None:
        self.by_row.setdefault(row, []).append(m)
        self._nominated = None

    def nominated(self) -> np.ndarray:
        """Rows matched other than as context: the graph channel's candidates, in the order
        matched (kept: the ranking of every scope of a query reads them)."""
        if self._nominated is None:
            rows = [r for r, ms in self.by_row.items() if any(m.via != "context" for m in ms)]
            self._nominated = np.asarray(rows, dtype=np.int64)
        return self._nominated

    def lists_item(self, mask: np.ndarray) -> bool:
        """Whether a row of ``mask`` lists the item or a narrower product (the ``graph_q`` feature)."""
        return any(
            mask[r] and any(m.via in ("exact", "subclass") for m in ms) for r, ms in self.by_row.items()
        )


def aggregate_channel(
    entry_ids: np.ndarray,
    values: np.ndarray,
    entry_firm: np.ndarray,
    entry_kind: np.ndarray,
    entry_share: np.ndarray,
    n_rows: int,
    profile_kind: int,
) -> ChannelArrays:
    """Max-pool entry scores into firm rows (capability entries and profiles separately)."""
    cap = np.zeros(n_rows, dtype=np.float32)
    cap_w = np.zeros(n_rows, dtype=np.float32)
    prof = np.zeros(n_rows, dtype=np.float32)
    share_best = np.zeros(n_rows, dtype=np.float32)
    best_entry = np.full(n_rows, -1, dtype=np.int64)
    if len(entry_ids):
        firms = entry_firm[entry_ids]
        kinds = entry_kind[entry_ids]
        is_prof = kinds == profile_kind
        pf = firms[is_prof]
        prof[pf] = np.maximum(prof[pf], values[is_prof])
        c = ~is_prof
        cf, cv, ce = firms[c], values[c], entry_ids[c]
        if len(cf):
            share = entry_share[ce]
            share = np.where(np.isnan(share), UNKNOWN_SHARE, share).astype(np.float32)
            np.maximum.at(cap, cf, cv)
            np.maximum.at(cap_w, cf, cv * (0.5 + 0.5 * share))
            is_best = cv >= cap[cf] - 1e-7
            share_best[cf[is_best]] = share[is_best]
            best_entry[cf[is_best]] = ce[is_best]
    return ChannelArrays(cap, cap_w, share_best, best_entry, prof)


def empty_channel(n_rows: int) -> ChannelArrays:
    z = np.zeros(n_rows, dtype=np.float32)
    return ChannelArrays(z, z, z, np.full(n_rows, -1, dtype=np.int64), z)


def feature_matrix(
    rows: np.ndarray,
    tfidf: ChannelArrays,
    bm25: ChannelArrays,
    dense: ChannelArrays,
    graph: GraphMatches,
    n_caps: np.ndarray,
    *,
    q_conf: float = 1.0,
    q_guess: bool = False,
    item_listed: bool | None = None,
) -> np.ndarray:
    """Features of firm ``rows`` (the candidates). ``graph_q`` is list-level: whether a candidate
    lists the item or a narrower product; ``item_listed`` gives it when the candidates are one
    shard's part of the list (the OR over the shards, see ``Recommender.lists_item``)."""
    X = np.zeros((len(rows), N_FEATURES), dtype=np.float32)
    X[:, FIDX["tfidf_cap"]] = tfidf.cap[rows]
    X[:, FIDX["tfidf_cap_w"]] = tfidf.cap_w[rows]
    X[:, FIDX["tfidf_prof"]] = tfidf.prof[rows]
    X[:, FIDX["bm25_cap"]] = bm25.cap[rows]
    X[:, FIDX["bm25_cap_w"]] = bm25.cap_w[rows]
    X[:, FIDX["bm25_prof"]] = bm25.prof[rows]
    X[:, FIDX["dense_cap"]] = dense.cap[rows]
    X[:, FIDX["dense_cap_w"]] = dense.cap_w[rows]
    X[:, FIDX["dense_prof"]] = dense.prof[rows]
    X[:, FIDX["share_best"]] = tfidf.share_best[rows]
    X[:, FIDX["item_known"]] = float(graph.item_known)
    X[:, FIDX["n_caps"]] = np.log1p(n_caps[rows])
    X[:, FIDX["q_conf"]] = q_conf
    X[:, FIDX["q_guess"]] = float(q_guess)
    pos = {r: i for i, r in enumerate(rows.tolist())}
    for row, matches in graph.by_row.items():
        i = pos.get(row)
        if i is None:
            continue
        for m in matches:
            share = UNKNOWN_SHARE if m.share is None else m.share
            if m.via == "exact":
                X[i, FIDX["exact"]] = 1.0
                X[i, FIDX["exact_share"]] = max(X[i, FIDX["exact_share"]], share)
            elif m.via == "subclass" and m.depth == 1:
                X[i, FIDX["sub1"]] = 1.0
                X[i, FIDX["sub_share"]] = max(X[i, FIDX["sub_share"]], share)
            elif m.via == "subclass":
                X[i, FIDX["sub2"]] = 1.0
            elif m.via == "kind":
                X[i, FIDX["kind"]] = 1.0
                X[i, FIDX["kind_share"]] = max(X[i, FIDX["kind_share"]], share)
            elif m.via == "parent":
                X[i, FIDX["parent"]] = 1.0
            elif m.via == "context":
                X[i, FIDX["ctx"]] = 1.0
    if len(rows):
        if item_listed is None:
            item_listed = bool(X[:, [FIDX["exact"], FIDX["sub1"], FIDX["sub2"]]].max() > 0)
        X[:, FIDX["graph_q"]] = float(item_listed)
    return X
