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
    ndcg_at,
    recall_at,
    without_channel,
)

REGIME_LABELS = {
    "full": "full",
    "hidden": "narrower",
    "nograph": "nograph",
    "hidden_nograph": "narrower_nograph",
}


def whole_text(f: FirmDoc) -> str:
    return " ".join([f.name, *f.industry, *(p.name for p in f.products)])


def peer_scores(
    firms: list[FirmDoc], gaps: list[dict[str, Any]], makers: dict[str, set[str]]
) -> dict[str, Any]:
    """Peers ranked over all firms; 'hidden' view removes verbatim makers as for ChainMatch."""
    import jieba
    from rank_bm25 import BM25Okapi
    from sklearn.feature_extraction.text import TfidfVectorizer

    jieba.setLogLevel(60)
    ids = [f.id for f in firms]
    texts = [whole_text(f) for f in firms]
    tok = [[t for t in jieba.cut_for_search(t) if t.strip()] for t in texts]
    bm25 = BM25Okapi(tok)
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    M = vec.fit_transform(texts)
    pos = {fid: i for i, fid in enumerate(ids)}

    def run(score_fn: Any) -> dict[str, dict[str, float]]:
        res: dict[str, list[tuple[float, float]]] = {"full": [], "hidden": []}
        for g in gaps:
            s = np.asarray(score_fn(g["item"]), dtype=np.float64)
            if g["leader_id"] in pos:
                s[pos[g["leader_id"]]] = -np.inf
            for regime in ("full", "hidden"):
                qrels = {k: int(v) for k, v in g["qrels"].items()}
                ss = s.copy()
                if regime == "hidden":
                    hide = makers.get(g["id"], set())
                    qrels = {k: v for k, v in qrels.items() if k not in hide}
                    for h in hide:
                        if h in pos:
                            ss[pos[h]] = -np.inf
                    if not qrels:
                        continue
                top = np.argsort(-ss, kind="stable")[:50]
                ranked = [ids[i] for i in top if np.isfinite(ss[i])]
                res[regime].append((ndcg_at(ranked, qrels), recall_at(ranked, qrels)))
        return {
            r: {
                "ndcg@10": float(np.mean([a for a, _ in v])),
                "recall@50": float(np.mean([b for _, b in v])),
                "n": len(v),
            }
            for r, v in res.items()
        }

    out = {
        "BM25 whole profile (rank_bm25, jieba)": run(
            lambda item: bm25.get_scores([t for t in jieba.cut_for_search(item) if t.strip()])
        ),
        "TF-IDF char 1-2 whole profile (sklearn)": run(
            lambda item: np.asarray((M @ vec.transform([item]).T).todense()).ravel()
        ),
    }
    for v in out.values():  # a peer does not use the product graph: same figures without it
        v["nograph"], v["hidden_nograph"] = v["full"], v["hidden"]
    return out


def fmt(m: dict[str, dict[str, float]]) -> str:
    cells = []
    for regime in ("full", "hidden", "nograph", "hidden_nograph"):
        r = m.get(regime)
        cells.append(f"{r['ndcg@10']:.3f} / {r['recall@50']:.3f}" if r else "—")
    return " | ".join(cells)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "out" / "quality.json")
    ap.add_argument("--no-ablations", action="store_true")
    args = ap.parse_args()

    t0 = time.time()
    firms, relations, gaps = load_firms(), load_relations(), load_gaps()
    cfg = EngineConfig(use_ranker=False)
    rec = Recommender.build(firms, relations, cfg)
    rec_ng = Recommender.build(firms, [], cfg)
    t_build = time.time() - t0
    qfs = collect_regimes(rec, rec_ng, gaps)
    makers = {g["id"]: set(rec.product_makers(g["item"])) for g in gaps}
    rows: list[tuple[str, dict[str, dict[str, float]]]] = []
    cv, _ = cross_validate(qfs, args.folds)
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
    for name, m in peer_scores(firms, gaps, makers).items():
        rows.append((f"peer: {name}", m))

    n = {r: sum(1 for q in qfs if q.regime == r) for r in REGIME_LABELS}
    header = " | ".join(
        f"{REGIME_LABELS[r]} (n={n[r]})" for r in ("full", "hidden", "nograph", "hidden_nograph")
    )
    print(f"\nnDCG@10 / Recall@50 on {chainkg_dir() / 'gaps_dev.jsonl'}  ({rec.n_firms} firms)")
    print(f"| system | {header} |")
    print("|---|---|---|---|---|")
    for name, m in rows:
        print(f"| {name} | {fmt(m)} |")
    print(f"\nbuild (2 engines) {t_build:.1f}s, total {time.time() - t0:.1f}s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "n": n}, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
