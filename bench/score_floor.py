"""The relevance floor: how many relevant firms a minimum match score keeps, how many irrelevant
ones it removes from the lists a bureau sees, on chainkg's gaps_dev.jsonl.

Run:  python bench/score_floor.py [--folds 5] [--json bench/out/score_floor.json]

Scores are the ranker's out-of-fold predictions (GroupKFold by item, as in bench/quality.py), on
the served scale (predicted grade / 2, clipped to 0..1), over each query's top 10 in all four
regimes (full, narrower, nograph, narrower_nograph), and separately on the same gaps written as
people write them (gaps_dev_freetext.jsonl). "Irrelevant" = a top-10 firm not in the query's
qrels — what pads a list when few real makers exist. The peer is no floor (0.0). Lists are as
served: a text read with low confidence that the floor would empty shows its best few, flagged.
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
from recommender.engine import EngineConfig, Recommender
from recommender.training import collect_regimes, cross_validate, ndcg_at, served_list

FLOORS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
TOP = 10


def floor_table(qfs: list[Any], preds: list[np.ndarray]) -> list[dict[str, Any]]:
    rows = []
    for floor in FLOORS:
        kept_rel = n_rel = dropped_irr = n_irr = empty_with_rel = flagged = 0
        ndcgs = []
        for qf, pred in zip(qfs, preds, strict=True):
            unfloored, _ = served_list(qf, pred, 0.0, TOP)
            kept, guessed = served_list(qf, pred, floor, TOP)
            rel = [fid for fid in unfloored if qf.qrels.get(fid, 0) > 0]
            n_rel += len(rel)
            kept_rel += sum(1 for fid in kept if qf.qrels.get(fid, 0) > 0)
            irr = [fid for fid in unfloored if qf.qrels.get(fid, 0) == 0]
            n_irr += len(irr)
            dropped_irr += sum(1 for fid in irr if fid not in kept)
            empty_with_rel += int(bool(rel) and not kept)
            flagged += int(guessed)
            ndcgs.append(ndcg_at(kept, qf.qrels))
        rows.append(
            {
                "floor": floor,
                "relevant_kept": kept_rel / max(n_rel, 1),
                "irrelevant_removed": dropped_irr / max(n_irr, 1),
                "emptied_lists_with_relevant": empty_with_rel,
                "low_confidence_lists": flagged,
                "ndcg@10": float(np.mean(ndcgs)),
                "queries": len(qfs),
            }
        )
    return rows


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        "| floor | relevant kept | irrelevant removed | lists emptied that had a relevant firm "
        "| low-confidence lists shown instead | nDCG@10 |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        peer = " (peer: no floor)" if r["floor"] == 0.0 else ""
        print(
            f"| {r['floor']:.2f}{peer} | {r['relevant_kept']:.3f} | {r['irrelevant_removed']:.3f} "
            f"| {r['emptied_lists_with_relevant']} of {r['queries']} | {r['low_confidence_lists']} "
            f"| {r['ndcg@10']:.3f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "out" / "score_floor.json")
    args = ap.parse_args()

    t0 = time.time()
    firms, relations, gaps = load_firms(), load_relations(), load_gaps()
    freetext = load_gaps(chainkg_dir() / "gaps_dev_freetext.jsonl")
    cfg = EngineConfig(use_ranker=False)
    rec, rec_ng = Recommender.build(firms, relations, cfg), Recommender.build(firms, [], cfg)
    qfs = collect_regimes(rec, rec_ng, gaps, freetext)
    _, oof = cross_validate(qfs, args.folds)
    catalog = [i for i, q in enumerate(qfs) if not q.regime.startswith("free")]
    free = [i for i, q in enumerate(qfs) if q.regime == "free"]
    tables = {
        "catalog": floor_table([qfs[i] for i in catalog], [oof[i] for i in catalog]),
        "free_text": floor_table([qfs[i] for i in free], [oof[i] for i in free]),
    }
    print_table(
        f"Catalog names: dev gaps, top {TOP}, 4 regimes pooled (out-of-fold ranker scores)", tables["catalog"]
    )
    print_table(
        f"Free text: the same gaps as people write them, top {TOP}, engine with the graph",
        tables["free_text"],
    )
    print(f"\ntotal {time.time() - t0:.1f}s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(tables, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
