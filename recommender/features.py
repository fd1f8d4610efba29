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
    _name: str | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """Read once (an explanation asks it several times; each read is a ``pread``)."""
        if self._name is None:
            self._name = self.texts[self.entry]
        return self._name

    @property
    def path(self) -> tuple[str, ...]:
        """Display names from the item to the listed product (empty for context matches)."""
        return (*self.lead, self.name) if self.path_ends_with_name else self.lead


VIA_CODES: tuple[str, ...] = ("exact", "subclass", "kind", "parent", "context")
_VIA = {v: i for i, v in enumerate(VIA_CODES)}


@dataclass(frozen=True)
class _Listing:
    """Live entries listing one product key, all matched the same way (one ``GraphMatches.add_listing``)."""

    via: str
    depth: int
    lead: tuple[str, ...]
    path_ends_with_name: bool
    parts: tuple[np.ndarray, np.ndarray, np.ndarray]  # rows, entries, shares (NaN: unknown)


@dataclass
class GraphMatches:
    """The graph channel's matches as arrays, one listing per product key matched, in the order
    matched. A query expands to thousands of postings: the features read them as arrays, and only
    the rows an answer explains become :class:`GraphMatch` objects (:meth:`matches_of`)."""

    texts: Sequence[str] = ()  # the entry table's texts
    item_known: bool = False
    _listings: list[_Listing] = field(default_factory=list, repr=False)
    _flat: tuple[np.ndarray, ...] | None = field(default=None, repr=False, compare=False)
    # the arrays of the first listings (those of the matches this set was copied from)
    _prefix: tuple[int, tuple[np.ndarray, ...]] | None = field(default=None, repr=False, compare=False)
    _nominated: np.ndarray | None = field(default=None, repr=False, compare=False)

    def add_listing(
        self,
        parts: tuple[np.ndarray, np.ndarray, np.ndarray],
        via: str,
        depth: int,
        lead: tuple[str, ...] = (),
        path_ends_with_name: bool = False,
    ) -> None:
        """Firm rows ``parts[0]`` list the product through capability entries ``parts[1]``, with
        revenue shares ``parts[2]``."""
        if len(parts[0]):
            self._listings.append(_Listing(via, depth, lead, path_ends_with_name, parts))
            self._flat = None
            if via != "context":
                self._nominated = None

    def copy(self) -> GraphMatches:
        """Another set of the same matches, to add to (the listings' arrays are shared, and so
        are their flattened arrays and nominated rows, computed once)."""
        out = GraphMatches(self.texts, self.item_known, list(self._listings))
        out._prefix, out._nominated = (len(self._listings), self.arrays()), self.nominated()
        return out

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(rows, entries, shares, via codes (``VIA_CODES``), depths, listing) of every match, in
        the order matched (kept: every scope of a query reads them)."""
        if self._flat is None:
            first, before = (0, None) if self._prefix is None else self._prefix
            ls = self._listings[first:]
            sizes = [len(x.parts[0]) for x in ls]
            flat = (
                *(
                    np.concatenate([x.parts[i] for x in ls]) if ls else np.zeros(0, dtype=dtype)
                    for i, dtype in enumerate((np.int64, np.int64, np.float64))
                ),
                np.repeat(np.array([_VIA[x.via] for x in ls], dtype=np.int8), sizes),
                np.repeat(np.array([x.depth for x in ls], dtype=np.int64), sizes),
                np.repeat(np.arange(first, first + len(ls), dtype=np.int64), sizes),
            )
            if before is not None:
                flat = (
                    tuple(np.concatenate([b, f]) for b, f in zip(before, flat, strict=True)) if ls else before
                )
            self._flat = flat
        return self._flat

    def nominated(self) -> np.ndarray:
        """Distinct rows matched other than as context (ascending): the graph channel's
        candidates (kept: the ranking of every scope of a query reads them)."""
        if self._nominated is None:
            rows, via = self.arrays()[0], self.arrays()[3]
            self._nominated = np.unique(rows[via != _VIA["context"]])
        return self._nominated

    def lists_item(self, mask: np.ndarray) -> bool:
        """Whether a row of ``mask`` lists the item or a narrower product (the ``graph_q`` feature)."""
        rows, via = self.arrays()[0], self.arrays()[3]
        return bool(mask[rows[via <= _VIA["subclass"]]].any())

    def matches_of(self, row: int) -> list[GraphMatch]:
        """The matches of firm ``row``, in the order matched."""
        rows, entries, shares, _, _, listing = self.arrays()
        out = []
        for i in np.flatnonzero(rows == row).tolist():
            x, share = self._listings[int(listing[i])], float(shares[i])
            out.append(
                GraphMatch(
                    self.texts, int(entries[i]), None if share != share else share,  # NaN: unknown
                    x.via, x.depth, x.lead, x.path_ends_with_name,
                )
            )  # fmt: skip
        return out


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
        # index arrays (np.flatnonzero once) rather than several boolean selections: ~1/3 cheaper
        # at the 17k entries of a char TF-IDF query over 100k firms
        firms = entry_firm[entry_ids]
        is_prof = entry_kind[entry_ids] == profile_kind
        if is_prof.any():
            at = np.flatnonzero(is_prof)
            pf = firms[at]
            prof[pf] = np.maximum(prof[pf], values[at])
            at = np.flatnonzero(~is_prof)
            cf, cv, ce = firms[at], values[at], entry_ids[at]
        else:
            cf, cv, ce = firms, values, entry_ids
        if len(cf):
            share = entry_share[ce].astype(np.float32)
            share[np.isnan(share)] = UNKNOWN_SHARE
            np.maximum.at(cap, cf, cv)
            np.maximum.at(cap_w, cf, cv * (0.5 + 0.5 * share))
            at = np.flatnonzero(cv >= cap[cf] - 1e-7)
            best = cf[at]  # a firm's last best entry, in the entries' order
            share_best[best] = share[at]
            best_entry[best] = ce[at]
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
    _graph_features(X, rows, graph)
    if len(rows):
        if item_listed is None:
            item_listed = bool(X[:, [FIDX["exact"], FIDX["sub1"], FIDX["sub2"]]].max() > 0)
        X[:, FIDX["graph_q"]] = float(item_listed)
    return X


def _graph_features(X: np.ndarray, rows: np.ndarray, graph: GraphMatches) -> None:
    """The graph columns of ``X`` (candidates ``rows``): a flag per way a candidate is matched,
    the largest revenue share per flag that has one (unknown shares count as ``UNKNOWN_SHARE``)."""
    g_rows, _, g_shares, g_via, g_depth, _ = graph.arrays()
    if not len(rows) or not len(g_rows):
        return
    sorter = np.argsort(rows, kind="stable")
    at = np.minimum(np.searchsorted(rows, g_rows, sorter=sorter), len(rows) - 1)
    i = sorter[at]
    hit = rows[i] == g_rows  # a candidate's match
    i, via, depth = i[hit], g_via[hit], g_depth[hit]
    share = np.where(np.isnan(g_shares[hit]), UNKNOWN_SHARE, g_shares[hit]).astype(np.float32)
    sub = via == _VIA["subclass"]
    for flag, share_col, which in (
        ("exact", "exact_share", via == _VIA["exact"]),
        ("sub1", "sub_share", sub & (depth == 1)),
        ("sub2", None, sub & (depth != 1)),
        ("kind", "kind_share", via == _VIA["kind"]),
        ("parent", None, via == _VIA["parent"]),
        ("ctx", None, via == _VIA["context"]),
    ):
        X[i[which], FIDX[flag]] = 1.0
        if share_col is not None:
            np.maximum.at(X[:, FIDX[share_col]], i[which], share[which])
