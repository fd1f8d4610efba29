"""The relevance floor: how many relevant firms a minimum match score keeps, how many irrelevant
ones it removes from the lists a bureau sees, on chainkg's gaps_dev.jsonl.

Run:  python bench/score_floor.py [--folds 5] [--json bench/out/score_floor.json]

Scores are the ranker's out-of-fold predictions (GroupKFold by item, as in bench/quality.py), on
the served scale (predicted grade / 2, clipped to 0..1), over each query's top 10 in all four
regimes (full, narrower, nograph, narrower_nograph). "Irrelevant" = a top-10 firm not in the
query's qrels — what pads a list when few real makers exist. The peer is no floor (0.0).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import load_firms, load_gaps, load_relations
from recommender.engine import EngineConfig, Recommender
from recommender.training import collect_regimes, cross_validate, ndcg_at

FLOORS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
TOP = 10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "out" / "score_floor.json")
    args = ap.parse_args()

    t0 = time.time()
    firms, relations, gaps = load_firms(), load_relations(), load_gaps()
    cfg = EngineConfig(use_ranker=False)
    qfs = collect_regimes(Recommender.build(firms, relations, cfg), Recommender.build(firms, [], cfg), gaps)
    _, oof = cross_validate(qfs, args.folds)

    rows = []
    for floor in FLOORS:
        kept_rel = n_rel = dropped_irr = n_irr = empty_with_rel = 0
        ndcgs = []
        for i, qf in enumerate(qfs):
            pred = oof[i]
            order = np.lexsort((np.arange(len(pred)), -pred))[:TOP]
            order = order[np.isfinite(pred[order])]
            score = np.clip(pred[order] / 2.0, 0.0, 1.0)
            ids = [qf.ids[j] for j in order]
            kept = [fid for fid, s in zip(ids, score, strict=True) if s >= floor]
            rel = [fid for fid in ids if qf.qrels.get(fid, 0) > 0]
            n_rel += len(rel)
            kept_rel += sum(1 for fid in kept if qf.qrels.get(fid, 0) > 0)
            n_irr += len(ids) - len(rel)
            dropped_irr += sum(
                1 for fid, s in zip(ids, score, strict=True) if s < floor and qf.qrels.get(fid, 0) == 0
            )
            empty_with_rel += int(bool(rel) and not kept)
            ndcgs.append(ndcg_at(kept, qf.qrels))
        rows.append(
            {
                "floor": floor,
                "relevant_kept": kept_rel / max(n_rel, 1),
                "irrelevant_removed": dropped_irr / max(n_irr, 1),
                "emptied_lists_with_relevant": empty_with_rel,
                "ndcg@10": float(np.mean(ndcgs)),
                "queries": len(qfs),
            }
        )

    print(f"\nRelevance floor on chainkg dev gaps, top {TOP}, 4 regimes pooled (out-of-fold ranker scores)")
    print("| floor | relevant kept | irrelevant removed | lists emptied that had a relevant firm | nDCG@10 |")
    print("|---|---|---|---|---|")
    for r in rows:
        peer = " (peer: no floor)" if r["floor"] == 0.0 else ""
        print(
            f"| {r['floor']:.2f}{peer} | {r['relevant_kept']:.3f} | {r['irrelevant_removed']:.3f} "
            f"| {r['emptied_lists_with_relevant']} of {r['queries']} | {r['ndcg@10']:.3f} |"
        )
    print(f"\ntotal {time.time() - t0:.1f}s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
