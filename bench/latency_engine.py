"""Engine-level timings, in-process: build, throughput, match latency, ANN recall, save / load.

Run:  python bench/latency_engine.py [--n 100000] [--queries 400] [--json bench/out/latency.json]

* build time of the real chainkg corpus (4,586 firms) and of a synthetic one (bench/synth.py);
* encode + index throughput: ``upsert_firms`` of a batch of new firms into the large index;
* ``match`` / ``recommend`` latency p50 / p99, single thread (BLAS, torch and FAISS limited to
  one thread), queries = the dev gap items then random product names, after 20 warm-up queries;
* ANN recall@10 of the dense index against exact inner-product search over the same vectors;
* save / load time of the large index.

The machine has 2 cores and other work may run in parallel: rerun to see the variance.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import load_firms, load_gaps, load_relations
from bench.synth import synth_firms
from recommender.corpus import FirmDoc, MatchQuery, Region
from recommender.engine import EngineConfig, Recommender


@contextmanager
def single_thread() -> Iterator[None]:
    """BLAS, torch and FAISS on one thread for the block (restored after)."""
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    torch_before, faiss_before = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(torch_before)
        faiss.omp_set_num_threads(faiss_before)


def percentiles(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs) * 1000
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p90_ms": round(float(np.percentile(a, 90)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
        "mean_ms": round(float(a.mean()), 2),
        "n": len(xs),
    }


def time_queries(rec: Recommender, items: list[tuple[str, str | None]], method: str) -> dict[str, float]:
    region = Region("江苏省")
    for text, fp in items[:20]:
        rec.match(MatchQuery(text=text, for_product=fp, k=10))
    lat = []
    for text, fp in items:
        q = MatchQuery(text=text, for_product=fp, region=region, k=10)
        t = time.perf_counter()
        if method == "match":
            rec.match(q)
        else:
            rec.recommend(q)
        lat.append(time.perf_counter() - t)
    return percentiles(lat)


def ann_recall(rec: Recommender, texts: list[str], k: int = 10) -> dict[str, Any]:
    """Recall@k of the dense index's search against exact inner product over the same vectors
    (the index holds one vector per distinct entry text; ids are text ids)."""
    import faiss

    dense = rec.dense
    if dense is None:
        return {"index": None}
    by_id = sorted(dense.text_ids.items(), key=lambda kv: kv[1])
    vecs = dense.encode(dense.encoder, [t for t, _ in by_id])
    exact = faiss.IndexFlatIP(vecs.shape[1])
    exact.add(vecs)
    hits = total = 0
    t_ann = []
    for text in texts:
        q = dense.encoder.encode_queries([text])
        if not np.any(q):
            continue
        _, e_idx = exact.search(q, k)
        truth = set(e_idx[0][e_idx[0] >= 0].tolist())
        t = time.perf_counter()
        got, _ = dense.index.search(q[0], k)
        t_ann.append(time.perf_counter() - t)
        hits += len(truth.intersection(got.tolist()))
        total += len(truth)
    sweep = {}
    if dense.index.kind != "flat":
        default = dense.index.search_effort
        qs = [dense.encoder.encode_queries([t]) for t in texts]
        qs = [q for q in qs if np.any(q)]
        truths = [set(exact.search(q, k)[1][0].tolist()) for q in qs]
        for effort in (16, 32, 64, 128, 256):
            dense.index.search_effort = effort
            h = sum(
                len(tr.intersection(dense.index.search(q[0], k)[0].tolist()))
                for q, tr in zip(qs, truths, strict=True)
            )
            sweep[effort] = round(h / max(sum(len(tr) for tr in truths), 1), 4)
        dense.index.search_effort = default
    return {
        "index": dense.index.kind,
        "search_effort (efSearch / nprobe)": dense.index.search_effort,
        "recall@10_by_effort": sweep,
        "vectors": dense.index.ntotal,
        "recall@10": round(hits / max(total, 1), 4),
        "search": percentiles(t_ann),
    }


def build(firms: list[FirmDoc], relations: list[Any], cfg: EngineConfig) -> tuple[Recommender, float]:
    t = time.perf_counter()
    rec = Recommender.build(firms, relations, cfg)
    return rec, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--upsert", type=int, default=5_000)
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "out" / "latency.json")
    args = ap.parse_args()
    out: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
        "python": platform.python_version(),
    }
    cfg = EngineConfig()
    relations = load_relations()
    real = load_firms()
    gaps = load_gaps()
    rng = random.Random(0)

    # ------------------------------------------------------------------ real corpus
    rec, secs = build(real, relations, cfg)
    out["build_4.6k"] = {
        "seconds": round(secs, 1),
        "firms": rec.n_firms,
        "entries": rec.n_entries,
        "breakdown": rec.manifest["build_seconds"],
    }
    items = [(g["item"], g["leader_product"]) for g in gaps]
    names = sorted({p.name for f in real for p in f.products})
    items += [(n, None) for n in rng.sample(names, max(0, args.queries - len(items)))]
    items = items[: args.queries]
    with single_thread():
        out["match_4.6k"] = time_queries(rec, items, "match")
    del rec

    # ------------------------------------------------------------------ synthetic corpus
    t = time.perf_counter()
    synth = synth_firms(args.n + args.upsert, seed=0)
    out["synth_seconds"] = round(time.perf_counter() - t, 1)
    base, extra = synth[: args.n], synth[args.n :]
    rec, secs = build(base, relations, cfg)
    out[f"build_{args.n // 1000}k"] = {
        "seconds": round(secs, 1),
        "firms": rec.n_firms,
        "entries": rec.n_entries,
        "firms_per_s": round(rec.n_firms / secs),
        "breakdown": rec.manifest["build_seconds"],
    }
    with single_thread():
        out[f"match_{args.n // 1000}k"] = time_queries(rec, items, "match")
        out[f"recommend_{args.n // 1000}k"] = time_queries(rec, items, "recommend")
        out["ann"] = ann_recall(rec, [t for t, _ in items[:200]])
    t = time.perf_counter()
    rec.upsert_firms(extra)
    up = time.perf_counter() - t
    out["upsert"] = {"firms": len(extra), "seconds": round(up, 2), "firms_per_s": round(len(extra) / up)}
    t = time.perf_counter()
    rec.upsert_firms(extra[:100])
    out["upsert_replace_100"] = {"seconds": round(time.perf_counter() - t, 3)}
    t = time.perf_counter()
    rec.remove_firms([f.id for f in extra[:100]])
    out["remove_100"] = {"seconds": round(time.perf_counter() - t, 3)}
    with single_thread():
        out[f"match_{args.n // 1000}k_after_updates"] = time_queries(rec, items[:200], "match")
    tmp = Path(tempfile.mkdtemp())
    try:
        t = time.perf_counter()
        rec.save(tmp / "idx")
        out["save_seconds"] = round(time.perf_counter() - t, 1)
        size = sum(p.stat().st_size for p in (tmp / "idx").rglob("*") if p.is_file())
        out["index_mb"] = round(size / 2**20, 1)
        t = time.perf_counter()
        Recommender.load(tmp / "idx", cfg)
        out["load_seconds"] = round(time.perf_counter() - t, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
