"""The per-deployment ranker refresh: learning from the outreach outcomes a deployment records.

The offline ranker (``recommender/``) stays the prior and is not changed. On top of its score a
small logistic model, fitted on this deployment's decisive outcomes (visited / negotiating / signed
= 1, declined = 0), scores each candidate from what a bureau's choices can depend on — the offline
score, where the firm is relative to the region (local, neighbouring, distance), its scale and tags
(专精特新 / 小巨人, listed), how much of its business the product is, whether it declared a supply
offer — and moves the offline score by at most ``weight``:

    score = offline score + weight × (2·p − 1)

``weight`` is the largest value of ``WEIGHTS`` for which nDCG@10 on the offline benchmark (queries
whose relevant firms are the product's makers, graded as chainkg grades them) is not below the
offline ranker's; ``weight = 0`` (the offline ranker itself) is always allowed, so the refreshed
ranker never falls below the offline one on that benchmark. The model is stored as JSON in the data
dir; its version is in every answer (``model_version``, header ``X-ChainMatch-Model``).
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainmatch.errors import RefreshError
from chainmatch.requirements import distance_km
from recommender.corpus import FirmMatch, Region

FEATURES = (
    "offline_score",
    "local",
    "neighbouring",
    "distance_1000km",
    "scale_ordinal",
    "scale_unknown",
    "large",
    "sme",
    "specialised",
    "listed",
    "product_share",
    "main_product",
    "offer",
)
WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
NEIGHBOUR_KM = 700.0
MIN_OUTCOMES = 10  # at least this many decisive outcomes, with both kinds among them
FILE_NAME = "ranker_refresh.json"
_SCALES = {"micro": 0.0, "small": 1.0, "medium": 2.0, "large": 3.0}
SPECIALISED_TAGS = frozenset({"专精特新", "小巨人", "专精特新小巨人"})


def features(match: FirmMatch, region: Region, has_offer: bool) -> list[float]:
    firm = match.firm
    inside = region.contains(firm)
    far = distance_km(firm.province, region.province) if firm.country == "中国" else None
    share = max((p.share or 0.0 for p in match.matched_products if p.via in ("exact", "kind")), default=0.0)
    scale = _SCALES.get(firm.scale)
    return [
        float(match.score),
        1.0 if inside else 0.0,
        1.0 if (not inside and far is not None and 0 < far <= NEIGHBOUR_KM) else 0.0,
        (far if far is not None else 3000.0) / 1000.0,
        (scale if scale is not None else 1.5) / 3.0,
        1.0 if scale is None else 0.0,
        1.0 if firm.scale == "large" else 0.0,
        1.0 if firm.scale in ("micro", "small", "medium") else 0.0,
        1.0 if SPECIALISED_TAGS & set(firm.tags) else 0.0,
        1.0 if "listed" in firm.tags or "上市公司" in firm.tags else 0.0,
        min(max(share, 0.0), 1.0),
        1.0 if share >= 0.2 else 0.0,
        1.0 if has_offer else 0.0,
    ]


@dataclass
class RefreshModel:
    version: str
    trained_at: str
    n_outcomes: int
    n_positive: int
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    weight: float
    benchmark: dict[str, Any] = field(default_factory=dict)
    features: list[str] = field(default_factory=lambda: list(FEATURES))

    def probability(self, x: Sequence[float]) -> float:
        z = self.intercept + sum(
            c * (v - m) / s for c, v, m, s in zip(self.coef, x, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def delta(self, x: Sequence[float], weight: float | None = None) -> float:
        w = self.weight if weight is None else weight
        return w * (2.0 * self.probability(x) - 1.0)

    def adjust(self, match: FirmMatch, region: Region, has_offer: bool) -> float:
        return self.delta(features(match, region, has_offer))

    def save(self, data_dir: Path) -> Path:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / FILE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, data_dir: Path) -> RefreshModel | None:
        path = data_dir / FILE_NAME
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("features") != list(FEATURES):
            return None  # written for other features: ignored until the next refresh
        return cls(**data)


def fit(X: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float], list[float], float]:
    """Standardised logistic regression (L2, balanced classes): mean, scale, coef, intercept."""
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    clf.fit((X - mean) / scale, y)
    return mean.tolist(), scale.tolist(), clf.coef_[0].tolist(), float(clf.intercept_[0])


def new_model(X: np.ndarray, y: np.ndarray, trained_at: str) -> RefreshModel:
    if len(y) < MIN_OUTCOMES or y.min() == y.max():
        raise RefreshError(
            f"结果不足：需要至少 {MIN_OUTCOMES} 条有结论的对接记录，且成功与放弃都有 "
            f"(need at least {MIN_OUTCOMES} decisive outcomes of both kinds; have {len(y)})"
        )
    mean, scale, coef, intercept = fit(X, y)
    digest = hashlib.sha1(json.dumps([coef, intercept]).encode()).hexdigest()[:6]
    return RefreshModel(
        version=f"refresh-{trained_at[:10].replace('-', '')}-{digest}{secrets.token_hex(1)}",
        trained_at=trained_at,
        n_outcomes=len(y),
        n_positive=int(y.sum()),
        mean=mean,
        scale=scale,
        coef=coef,
        intercept=intercept,
        weight=0.0,
    )


# ------------------------------------------------------------------------------ the guard
@dataclass
class BenchQuery:
    """One offline-benchmark query: the candidates with their features, and graded relevance."""

    firm_ids: list[str]
    scores: np.ndarray  # offline score per candidate
    X: np.ndarray  # features per candidate
    qrels: dict[str, int]


def ndcg_at(ranked: Sequence[str], qrels: dict[str, int], k: int = 10) -> float:
    gains = sorted(qrels.values(), reverse=True)[:k]
    ideal = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))
    if ideal <= 0:
        return 0.0
    dcg = sum((2 ** qrels.get(f, 0) - 1) / math.log2(i + 2) for i, f in enumerate(ranked[:k]))
    return dcg / ideal


def mean_ndcg(queries: Sequence[BenchQuery], score: Callable[[BenchQuery], np.ndarray]) -> float:
    if not queries:
        return 0.0
    total = 0.0
    for q in queries:
        s = score(q)
        order = np.argsort(-s, kind="stable")
        total += ndcg_at([q.firm_ids[i] for i in order], q.qrels)
    return total / len(queries)


def model_deltas(model: RefreshModel, q: BenchQuery) -> np.ndarray:
    return np.array([model.delta(x, 1.0) for x in q.X], dtype=np.float64)


def choose_weight(model: RefreshModel, queries: Sequence[BenchQuery]) -> dict[str, Any]:
    """Set ``model.weight`` to the largest of ``WEIGHTS`` that keeps offline-benchmark nDCG@10 at or
    above the offline ranker's; returns the figures."""
    if not queries:
        raise RefreshError("没有离线基准查询 (no offline benchmark queries to check the refresh against)")
    deltas = [model_deltas(model, q) for q in queries]
    index = {id(q): d for q, d in zip(queries, deltas, strict=True)}
    base = mean_ndcg(queries, lambda q: q.scores)
    chosen, figures = 0.0, {}
    for w in WEIGHTS:

        def weighted(q: BenchQuery, w: float = w) -> np.ndarray:
            return q.scores + w * index[id(q)]

        value = mean_ndcg(queries, weighted)
        figures[f"{w:g}"] = round(value, 4)
        if value >= base - 1e-12:
            chosen = max(chosen, w)
    model.weight = chosen
    return {
        "queries": len(queries),
        "offline_ndcg10": round(base, 4),
        "refreshed_ndcg10": figures[f"{chosen:g}"],
        "by_weight": figures,
    }


def offline_version(ranker_path: Path | None) -> str:
    """``offline-<8 hex>``: the shipped (or configured) ranker's metadata digest; ``fusion`` when none."""
    from recommender.ranker import DEFAULT_RANKER_PATH

    meta = (ranker_path or DEFAULT_RANKER_PATH).with_suffix(".json")
    if not meta.exists():
        return "fusion"
    return "offline-" + hashlib.sha1(meta.read_bytes()).hexdigest()[:8]


class ModelStore:
    """The deployment's current refreshed model, re-read when its file changes (every worker)."""

    def __init__(self, data_dir: Path, ranker_path: Path | None) -> None:
        self.data_dir = data_dir
        self.offline = offline_version(ranker_path)
        self._stamp: float | None = None
        self._model: RefreshModel | None = None
        self._engine_offline: str | None = None

    def current(self) -> RefreshModel | None:
        path = self.data_dir / FILE_NAME
        try:
            stamp = path.stat().st_mtime
        except FileNotFoundError:
            self._stamp, self._model = None, None
            return None
        if stamp != self._stamp:
            try:
                self._model = RefreshModel.load(self.data_dir)
            except (ValueError, TypeError, KeyError, OSError):
                self._model = None
            self._stamp = stamp
        return self._model

    def version(self, engine: Any = None) -> str:
        """``offline-…`` (``fusion`` when the engine runs without a trained ranker), plus
        ``+refresh-…`` when the deployment has refreshed its ranker."""
        if engine is not None:  # what the engine really runs (a stale artifact falls back to fusion)
            fusion = type(getattr(engine, "ranker", None)).__name__ == "FusionRanker"
            self._engine_offline = "fusion" if fusion else self.offline
        offline = self._engine_offline or self.offline
        model = self.current()
        return offline if model is None else f"{offline}+{model.version}"


# ------------------------------------------------------------------------------ a deployment's refresh
DECISIVE_POSITIVE = ("visited", "negotiating", "signed")
BENCH_QUERIES = 60
BENCH_K = 50


def _match_for(
    engine: Any,
    cache: dict[tuple[Any, ...], list[FirmMatch]],
    product: str,
    for_product: str | None,
    region: Region,
    scope: Any,
) -> list[FirmMatch]:
    from recommender.corpus import MatchQuery

    key = (product, for_product, region, scope)
    if key not in cache:
        query = MatchQuery(
            text=product, for_product=for_product, region=region, scope=scope, k=BENCH_K, min_score=0.0
        )
        cache[key] = engine.match(query)
    return cache[key]


def outcome_data(session: Any, engine: Any) -> tuple[np.ndarray, np.ndarray, list[tuple[str, Region]]]:
    """Features and labels of the deployment's decisive outcomes (every region), and the
    (product, region) pairs they concern."""
    from sqlmodel import col, select

    from chainmatch.offermatch import valid_offers_of
    from models.outreach import CandidateKind, OutreachRecord, Stage
    from recommender.corpus import Scope

    records = session.exec(
        select(OutreachRecord).where(
            col(OutreachRecord.stage).in_([*DECISIVE_POSITIVE, Stage.DECLINED.value])
        )
    ).all()
    offered = valid_offers_of(session, {r.firm_id for r in records})
    cache: dict[tuple[Any, ...], list[FirmMatch]] = {}
    rows, labels, seen = [], [], []
    for r in records:
        region = Region(r.region_province, r.region_city)
        scope = Scope.OUTSIDE if r.kind == CandidateKind.TARGET else Scope.INSIDE
        found = next(
            (
                m
                for m in _match_for(engine, cache, r.product, r.for_product, region, scope)
                if m.firm.id == r.firm_id
            ),
            None,
        )
        if found is None:
            firm = engine.get_firm(r.firm_id)
            if firm is None:
                continue
            found = FirmMatch(firm=firm, score=float(r.score or 0.0))
        rows.append(features(found, region, bool(offered.get(r.firm_id))))
        labels.append(1 if str(r.stage) in DECISIVE_POSITIVE else 0)
        seen.append((r.product, region))
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)), np.asarray(labels), seen


def registry_benchmark(engine: Any, pairs: Sequence[tuple[str, Region]]) -> list[BenchQuery]:
    """The offline benchmark of a deployment: its weak links' products that someone in the registry
    makes, graded as chainkg grades (2: the product is ≥ 20% of the maker's revenue, else 1)."""
    from recommender.corpus import Scope

    cache: dict[tuple[Any, ...], list[FirmMatch]] = {}
    out: list[BenchQuery] = []
    for product, region in dict.fromkeys(pairs):
        u = engine.understand(product, None)
        makers = engine.product_makers(u.product or product)
        if not makers:
            continue
        qrels = {f: 2 if (s or 0) >= 0.2 else 1 for f, s in makers.items()}
        matches = _match_for(engine, cache, product, None, region, Scope.ALL)
        if not matches:
            continue
        out.append(
            BenchQuery(
                firm_ids=[m.firm.id for m in matches],
                scores=np.array([m.score for m in matches], dtype=np.float64),
                X=np.array([features(m, region, False) for m in matches], dtype=np.float64),
                qrels=qrels,
            )
        )
        if len(out) >= BENCH_QUERIES:
            break
    return out


def refresh_deployment(session: Any, engine: Any, data_dir: Path, now: str) -> RefreshModel:
    """Fit on the recorded outcomes, check against the offline benchmark, save. RefreshError when
    there is too little to learn from."""
    from sqlmodel import col, select

    from models.gap import GapItem, GapList

    X, y, pairs = outcome_data(session, engine)
    model = new_model(X, y, now)
    items = session.exec(
        select(GapItem.name, GapList.region_province, GapList.region_city)
        .join(GapList, col(GapList.id) == col(GapItem.gap_list_id))
        .where(col(GapList.deleted_at).is_(None))
        .limit(BENCH_QUERIES * 4)
    ).all()
    pairs = [*pairs, *((name, Region(p, c)) for name, p, c in items)]
    model.benchmark = choose_weight(model, registry_benchmark(engine, pairs))
    model.save(data_dir)
    return model


_STORES: dict[tuple[str, str], ModelStore] = {}


def store_for(data_dir: Path, ranker_path: Path | None) -> ModelStore:
    """One :class:`ModelStore` per (data dir, offline ranker) in this process."""
    key = (str(data_dir.resolve()), str(ranker_path))
    if key not in _STORES:
        _STORES[key] = ModelStore(data_dir, ranker_path)
    return _STORES[key]
