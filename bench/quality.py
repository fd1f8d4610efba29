"""Ranking quality on chainkg's gaps_dev.jsonl: ChainMatch vs peers, with channel ablations.

Run:  python bench/quality.py [--folds 5] [--json bench/out/quality.json]

Everything in one run, on the same normalised corpus (recommender.products.clean_products):

* ChainMatch (CV ranker) — the trained ranker, cross-validated with GroupKFold by item (no item
  in both a training and a test fold), all regimes pooled in training;
* fusion fallback — the documented linear fusion (no training);
* channel ablations — the CV ranker retrained without one channel (its candidates and its
  features removed);
* peers — Okapi BM25 (rank_bm25) over jieba search-mode tokens of name + industry + products of
  the whole firm, and scikit-learn TF-IDF over char 1–2 grams of the same whole-firm text.

Regimes (columns):

* ``full`` — the 554 dev gaps as given (engine built with product_relations.jsonl);
* ``narrower`` (= training regime ``hidden``) — gaps matched only through narrower products:
  firms listing the item verbatim are removed from the corpus view and from the qrels; the gaps
  left with qrels (makers of subclasses) are kept. Peers are evaluated on the same view;
* ``nograph`` / ``narrower_nograph`` — the same two with an engine built WITHOUT the product
  relations (the encoder does not see them either): an item the graph does not know.

All firms are ranked (leader excluded); metrics are nDCG@10 (gain 2^g − 1) and Recall@50.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import chainkg_dir, load_firms, load_gaps, load_relations
from recommender.corpus import FirmDoc
from recommender.engine import EngineConfig, Recommender
from recommender.ranker import FusionRanker
from recommender.training import (
    collect_regimes,
    cross_validate,
    evaluate,
    evaluate_served,
    ndcg_at,
    recall_at,
    without_channel,
)

REGIME_LABELS = {
    "full": "full",
    "hidden": "narrower",
    "nograph": "nograph",
    "hidden_nograph": "narrower_nograph",
    "free": "free text",
    "free_nograph": "free text, nograph",
}


def whole_text(f: FirmDoc) -> str:
    return " ".join([f.name, *f.industry, *(p.name for p in f.products)])


class Peers:
    """The peers, fitted once on the whole-firm texts: Okapi BM25 over jieba search-mode tokens
    and TF-IDF over char 1–2 grams; each ranks all firms for a text."""

    def __init__(self, firms: list[FirmDoc]) -> None:
        import jieba
        from rank_bm25 import BM25Okapi
        from sklearn.feature_extraction.text import TfidfVectorizer

        jieba.setLogLevel(60)
        self._jieba = jieba
        self.ids = [f.id for f in firms]
        self.pos = {fid: i for i, fid in enumerate(self.ids)}
        texts = [whole_text(f) for f in firms]
        self.bm25 = BM25Okapi([[t for t in jieba.cut_for_search(t) if t.strip()] for t in texts])
        self.vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
        self.M = self.vec.fit_transform(texts)

    def scorers(self) -> dict[str, Any]:
        return {
            "BM25 whole profile (rank_bm25, jieba)": lambda text: self.bm25.get_scores(
                [t for t in self._jieba.cut_for_search(text) if t.strip()]
            ),
            "TF-IDF char 1-2 whole profile (sklearn)": lambda text: np.asarray(
                (self.M @ self.vec.transform([text]).T).todense()
            ).ravel(),
        }

    def ranked(self, scores: np.ndarray, exclude: set[str]) -> list[str]:
        s = np.asarray(scores, dtype=np.float64).copy()
        for fid in exclude:
            if fid in self.pos:
                s[self.pos[fid]] = -np.inf
        top = np.argsort(-s, kind="stable")[:50]
        return [self.ids[i] for i in top if np.isfinite(s[i])]


def peer_scores(peers: Peers, gaps: list[dict[str, Any]], makers: dict[str, set[str]]) -> dict[str, Any]:
    """Peers over the item names; the 'hidden' view removes verbatim makers as for ChainMatch."""
    out: dict[str, Any] = {}
    for name, score_fn in peers.scorers().items():
        res: dict[str, list[tuple[float, float]]] = {"full": [], "hidden": []}
        for g in gaps:
            s = score_fn(g["item"])
            for regime in ("full", "hidden"):
                qrels = {k: int(v) for k, v in g["qrels"].items()}
                hide = makers.get(g["id"], set()) if regime == "hidden" else set()
                qrels = {k: v for k, v in qrels.items() if k not in hide}
                if not qrels:
                    continue
                ranked = peers.ranked(s, hide | {g["leader_id"]})
                res[regime].append((ndcg_at(ranked, qrels), recall_at(ranked, qrels)))
        m = {
            r: {"ndcg@10": float(np.mean([a for a, _ in v])), "recall@50": float(np.mean([b for _, b in v]))}
            for r, v in res.items()
        }
        m["nograph"], m["hidden_nograph"] = m["full"], m["hidden"]  # peers use no product graph
        out[name] = m
    return out


def peer_freetext(peers: Peers, freetext: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Peers over the free text itself, per style (a peer has no relevance floor: never empty)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, score_fn in peers.scorers().items():
        acc: dict[str, list[tuple[float, float]]] = {}
        for g in freetext:
            if g.get("junk"):
                continue
            ranked = peers.ranked(score_fn(g["text"]), {g["leader_id"]})
            qrels = {k: int(v) for k, v in g["qrels"].items()}
            acc.setdefault(g["style"], []).append((ndcg_at(ranked, qrels), recall_at(ranked, qrels)))
            acc.setdefault("all", []).append(acc[g["style"]][-1])
        out[name] = {
            st: {
                "ndcg@10": float(np.mean([a for a, _ in v])),
                "recall@50": float(np.mean([b for _, b in v])),
                "empty": 0.0,
            }
            for st, v in acc.items()
        }
    return out


COLUMNS = ("full", "hidden", "nograph", "hidden_nograph", "free", "free_nograph")
STYLES = ("modifier", "purpose", "sentence", "alias", "spec", "all")


def fmt(m: dict[str, dict[str, float]]) -> str:
    cells = []
    for regime in COLUMNS:
        r = m.get(regime)
        cells.append(f"{r['ndcg@10']:.3f} / {r['recall@50']:.3f}" if r else "—")
    return " | ".join(cells)


def fmt_styles(m: dict[str, dict[str, float]]) -> str:
    cells = []
    for st in STYLES:
        r = m.get(st)
        cells.append(f"{r['ndcg@10']:.3f} / {r['recall@50']:.3f} / {r['empty']:.1%}" if r else "—")
    return " | ".join(cells)


def by_style(qfs: list[Any], preds: list[np.ndarray], floor: float) -> dict[str, dict[str, float]]:
    m = evaluate_served(qfs, preds, floor, by="style")
    m["all"] = evaluate_served(qfs, preds, floor, by="regime")[qfs[0].regime]
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "out" / "quality.json")
    ap.add_argument("--no-ablations", action="store_true")
    args = ap.parse_args()

    t0 = time.time()
    firms, relations, gaps = load_firms(), load_relations(), load_gaps()
    freetext = load_gaps(chainkg_dir() / "gaps_dev_freetext.jsonl")
    cfg = EngineConfig(use_ranker=False)
    rec = Recommender.build(firms, relations, cfg)
    rec_ng = Recommender.build(firms, [], cfg)
    t_build = time.time() - t0
    qfs = collect_regimes(rec, rec_ng, gaps, freetext)
    makers = {g["id"]: set(rec.product_makers(g["item"])) for g in gaps}
    rows: list[tuple[str, dict[str, dict[str, float]]]] = []
    cv, oof = cross_validate(qfs, args.folds)
    rows.append(("ChainMatch (CV ranker, GroupKFold by item)", cv))
    rows.append(
        ("ChainMatch fusion fallback (no training)", evaluate(qfs, lambda qf: FusionRanker().predict(qf.X)))
    )
    if not args.no_ablations:
        for ch in ("tfidf", "bm25", "dense", "graph"):
            sub, feats = without_channel(qfs, ch)
            m, _ = cross_validate(sub, args.folds, features=feats)
            rows.append((f"  − {ch} channel (CV ranker)", m))
        sub, feats = without_channel(qfs, "dense")
        sub, feats2 = without_channel(sub, "graph")
        feats = tuple(f for f in feats if f in feats2)
        rows.append(
            ("  lexical only: tfidf + bm25 (CV ranker)", cross_validate(sub, args.folds, features=feats)[0])
        )
    peers = Peers(firms)
    for name, m in peer_scores(peers, gaps, makers).items():
        rows.append((f"peer: {name}", m))

    n = {r: sum(1 for q in qfs if q.regime == r) for r in COLUMNS}
    header = " | ".join(f"{REGIME_LABELS[r]} (n={n[r]})" for r in COLUMNS)
    print(f"\nnDCG@10 / Recall@50 on {chainkg_dir() / 'gaps_dev.jsonl'}  ({rec.n_firms} firms), no floor")
    print(f"| system | {header} |")
    print("|---|" + "---|" * len(COLUMNS))
    for name, m in rows:
        print(f"| {name} | {fmt(m)} |")

    # ---- free text as served: per style, the default relevance floor, peers beside
    floor = EngineConfig().min_score
    pick = {r: [i for i, q in enumerate(qfs) if q.regime == r] for r in ("full", "free", "free_nograph")}
    free_rows: list[tuple[str, dict[str, dict[str, float]]]] = []
    for regime, label in (("free", ""), ("free_nograph", ", engine without the product graph")):
        sub = [qfs[i] for i in pick[regime]]
        preds = [oof[i] for i in pick[regime]]
        free_rows.append((f"ChainMatch, default floor {floor:.2f}{label}", by_style(sub, preds, floor)))
        if not label:
            free_rows.append(("ChainMatch, floor off", by_style(sub, preds, 0.0)))
    cat = [qfs[i] for i in pick["full"]]
    free_rows.append(
        (
            f"ChainMatch, the same gaps as catalog names, floor {floor:.2f}",
            {"all": by_style(cat, [oof[i] for i in pick["full"]], floor)["all"]},
        )
    )
    for name, m in peer_freetext(peers, freetext).items():
        free_rows.append((f"peer: {name} over the free text", m))
    n_style = {st: sum(1 for q in qfs if q.regime == "free" and q.style == st) for st in STYLES[:-1]}
    print(
        f"\nFree text ({chainkg_dir() / 'gaps_dev_freetext.jsonl'}, junk lines left out): "
        "nDCG@10 / Recall@50 / empty lists, as served"
    )
    print(
        "| system | " + " | ".join(f"{st} (n={n_style.get(st, len(pick['free']))})" for st in STYLES) + " |"
    )
    print("|---|" + "---|" * len(STYLES))
    for name, m in free_rows:
        print(f"| {name} | {fmt_styles(m)} |")
    print(f"\nbuild (2 engines) {t_build:.1f}s, total {time.time() - t0:.1f}s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"rows": rows, "n": n, "freetext": free_rows}, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
