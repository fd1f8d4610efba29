"""Latency of a free-text weak link beside its catalog name, in-process, at 100k firms.

Run:  python bench/latency_freetext.py [--n 100000] [--json bench/out/latency_freetext.json]

The corpus is bench/synth.py's synthetic registry (chainkg's vocabulary and distributions) with
chainkg's product relations. Queries: the dev gaps' free-text rewrites (gaps_dev_freetext.jsonl,
junk lines left out) and, as the peer in the same run, the same gaps' catalog names, asked in
alternation so that both meet the same machine state; ``match`` with region 江苏省 and k=10, one
thread (BLAS, torch, FAISS), after 20 warm-up queries of each. ``parse`` times the query
understanding alone (the part a catalog name skips with one dictionary look-up).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import chainkg_dir, load_gaps, load_relations
from bench.latency_engine import percentiles, single_thread
from bench.synth import synth_firms
from recommender.corpus import MatchQuery, Region
from recommender.engine import EngineConfig, Recommender


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument(
        "--json", type=Path, default=Path(__file__).resolve().parent / "out" / "latency_freetext.json"
    )
    args = ap.parse_args()
    free = [g for g in load_gaps(chainkg_dir() / "gaps_dev_freetext.jsonl") if not g.get("junk")]
    t = time.perf_counter()
    rec = Recommender.build(synth_firms(args.n, seed=0), load_relations(), EngineConfig())
    build_s = time.perf_counter() - t
    region = Region("江苏省")

    def ask(text: str, fp: str | None) -> float:
        q = MatchQuery(text=text, for_product=fp, region=region, k=10)
        t0 = time.perf_counter()
        rec.match(q)
        return time.perf_counter() - t0

    out: dict[str, Any] = {"n_firms": rec.n_firms, "build_seconds": round(build_s, 1), "queries": len(free)}
    with single_thread():
        for g in free[:20]:
            ask(g["item"], g["leader_product"])
            ask(g["text"], g["leader_product"])
        cat, txt, parse = [], [], []
        for g in free:
            cat.append(ask(g["item"], g["leader_product"]))
            txt.append(ask(g["text"], g["leader_product"]))
            t0 = time.perf_counter()
            rec.parser().parse(g["text"])  # the parser alone, uncached
            parse.append(time.perf_counter() - t0)
    out["catalog"] = percentiles(cat)
    out["free_text"] = percentiles(txt)
    out["parse_only"] = percentiles(parse)
    out["p50_difference_ms"] = round(out["free_text"]["p50_ms"] - out["catalog"]["p50_ms"], 2)
    print(json.dumps(out, indent=2, ensure_ascii=False))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
