"""Scaling figures (issue 11): memory per firm of a serving engine, answer identity, batch throughput.

    python bench/scale.py memory [--n 100000]          # RSS after warm-up: the sample-size engine vs n firms
    python bench/scale.py identity --save F.json       # top-10 of every chainkg dev query (catalog + free text)
    python bench/scale.py identity --compare F.json    # ... and the share identical to a saved run
    python bench/scale.py identity --n 100000 --save F # the same queries of the 100k synthetic index
    python bench/scale.py batch [--queries 300]        # POST /v1/match/batch vs one call at a time, over HTTP
    python bench/scale.py batch --n 100000 --queries 600  # ... at 100k firms, two workloads (bench/batch_http.py)
    python bench/scale.py recall [--index-dir D] [--peer-dir P]  # the dense graph against exact search

``memory`` builds (once, cached under bench/out/scale/) an index of the bundled sample cluster and of
``n`` synthetic firms (bench/synth.py, seed 0), then loads each in a fresh process the way a serving
worker does (``Recommender.load``), answers 60 warm-up queries and reads the process's RSS
(/proc/self/status VmRSS); per firm = (RSS at n − RSS at the sample) / (n − sample firms).

``identity`` builds the engine on chainkg (the corpus the quality bench uses) and records, for the
554 catalog dev gaps and their 1,108 free-text rewrites, the top-10 firm ids (scope all, the leader
excluded, min_score 0 so that the floor does not hide a changed order), asked of the index saved and
loaded back as a serving worker loads it; ``--compare`` reports the
share of queries whose top-10 is identical (same firms, same order) to a saved run — the check that
a leaner representation does not change answers. The saved runs are not committed (bench/out/).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path(__file__).resolve().parent / "out"
SCALE = OUT / "scale"
REPO = Path(__file__).resolve().parents[1]


def rss_mb(field: str = "VmRSS") -> float:
    """``field`` of /proc/self/status in MB: VmRSS (all resident pages), RssAnon (private to the
    process) or RssFile (pages of mapped files: shared by every process mapping the same index)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --index-dir: where the n-firm index is cached instead of idx_{n}k (e.g. one built after a change
# of layout, measured beside the cached one built before it: --peer-dir)
_INDEX_DIR: dict[int, Path] = {}


def _index_dir(n: int) -> Path:
    return _INDEX_DIR.get(n) or SCALE / ("idx_sample" if n == 0 else f"idx_{n // 1000}k")


def _build(n: int) -> dict[str, Any]:
    from recommender.engine import EngineConfig, Recommender

    target = _index_dir(n)
    if (target / "manifest.json").exists():
        return {"cached": str(target)}
    if n == 0:
        from chainmatch.corpus_files import corpus_from_files

        sample = REPO / "data" / "sample"
        firms, relations = corpus_from_files(sample / "firms.jsonl", sample / "relations.jsonl")
    else:
        from bench._data import load_relations
        from bench.synth import synth_firms

        firms, relations = synth_firms(n, seed=0), load_relations()
    t = time.perf_counter()
    rec = Recommender.build(firms, relations, EngineConfig())
    secs = time.perf_counter() - t
    rec.save(target)
    return {"firms": rec.n_firms, "entries": rec.n_entries, "build_seconds": round(secs, 1)}


WARMUP = [
    "涡轮分子泵", "离子源", "光电倍增管", "PMT", "电源模块", "硫酸", "锂电池隔膜", "碳纤维", "伺服电机",
    "用于质谱仪的离子源，主要依赖日本进口", "高精度光栅尺", "氢氧化钠", "液氦", "光刻胶", "减速器",
]  # fmt: skip


_MAPPING_RE = re.compile(r"^[0-9a-f]+-[0-9a-f]+$")


def mapped_rss_mb(directory: Path) -> dict[str, float]:
    """Resident MB of each file of ``directory`` the process maps (/proc/self/smaps)."""
    out: dict[str, float] = {}
    current: str | None = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and _MAPPING_RE.match(head[0]):  # a mapping's first line: its path when a file's
            current = head[5] if len(head) >= 6 and head[5].startswith(str(directory)) else None
        elif current and line.startswith("Rss:"):
            name = str(Path(current).relative_to(directory))
            out[name] = round(out.get(name, 0.0) + int(head[1]) / 1024, 1)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _read_through(directory: Path) -> None:
    """Reads every file of ``directory`` once, so that all of it is in the page cache: what a
    mapped file adds to RSS depends on that (the kernel maps up to 64 KB of *cached* pages around
    each faulted one), and a host whose workers share an index holds it there. Without this, a
    freshly built index (all cached) and an older one (partly evicted) measure differently."""
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            with open(path, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def _serve_probe(n: int) -> None:
    """Child process: load as a worker does, warm up, print RSS (the index in the page cache)."""
    from recommender.corpus import MatchQuery, Region, Scope
    from recommender.engine import EngineConfig, Recommender

    _read_through(_index_dir(n))
    before = rss_mb()
    t = time.perf_counter()
    rec = Recommender.load(_index_dir(n), EngineConfig())
    load_s = time.perf_counter() - t
    for i in range(60):
        text = WARMUP[i % len(WARMUP)]
        rec.recommend(MatchQuery(text=text, region=Region("广东省"), scope=Scope.ALL, k=10))
    print(
        json.dumps(
            {"firms": rec.n_firms, "entries": rec.n_entries, "rss_mb_imports": round(before, 1),
             "rss_mb": round(rss_mb(), 1), "rss_anon_mb": round(rss_mb("RssAnon"), 1),
             "rss_file_mb": round(rss_mb("RssFile"), 1), "load_seconds": round(load_s, 1),
             "index_files_resident_mb": mapped_rss_mb(_index_dir(n).resolve())}
        )
    )  # fmt: skip


def _probe(n: int, index_dir: Path | None = None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "_probe", "--n", str(n)]
    proc = subprocess.run(
        cmd + (["--index-dir", str(index_dir)] if index_dir else []),
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _per_firm(base: dict[str, Any], big: dict[str, Any]) -> dict[str, float]:
    return {
        name: round((big[field] - base[field]) * 1024 / (big["firms"] - base["firms"]), 2)
        for field, name in (("rss_mb", "kb_per_firm"), ("rss_anon_mb", "kb_per_firm_anon"))
    }


def memory(n: int, peer: Path | None = None) -> dict[str, Any]:
    """``peer``: a second n-firm index (one cached before a change) probed in the same run."""
    out: dict[str, Any] = {"n": n}
    for size in (0, n):
        out[f"build_{size}"] = _build(size)
    out["serve_0"] = _probe(0)
    out[f"serve_{n}"] = _probe(n, _INDEX_DIR.get(n))
    out.update(_per_firm(out["serve_0"], out[f"serve_{n}"]))
    out["index_bytes_on_disk"] = sum(p.stat().st_size for p in _index_dir(n).rglob("*") if p.is_file())
    if peer is not None:
        peer_run = _probe(n, peer)
        out["peer"] = {"index_dir": str(peer), "serve": peer_run, **_per_firm(out["serve_0"], peer_run)}
    return out


MATCH_SECONDS: list[float] = []  # each identity query's Recommender.match, in process (one thread)


def _exact_dense(rec: Any) -> None:
    """Swaps the dense channel's HNSW graph for exact search over the same vectors: the answers a
    graph approximates (bench/dense_recall.py reads the vectors the same way)."""
    import numpy as np

    from bench.dense_recall import _vectors
    from recommender.vector_index import FaissIndex

    dense = rec.parts.channels["dense"]
    flat = FaissIndex.flat(dense.index.dim)
    flat.add(_vectors(dense.index), np.arange(dense.index.ntotal, dtype=np.int64))
    dense.index = flat


def identity_runs(n: int = 0, exact_dense: bool = False) -> dict[str, list[str]]:
    """``n`` > 0: the same queries asked of the cached index of ``n`` synthetic firms (the size
    at which the dense channel is an HNSW graph rather than exact search); ``exact_dense``: with
    the graph swapped for exact search (:func:`_exact_dense`)."""
    import tempfile

    from bench._data import chainkg_dir, load_corpus
    from recommender.corpus import FirmFilter, MatchQuery, Scope
    from recommender.engine import EngineConfig, Recommender

    if n:
        _build(n)
        rec = Recommender.load(_index_dir(n), EngineConfig())
        if exact_dense:
            _exact_dense(rec)
    else:
        firms, relations = load_corpus()
        built = Recommender.build(firms, relations, EngineConfig())
        with tempfile.TemporaryDirectory() as tmp:  # answered by the index as a serving worker loads it
            built.save(Path(tmp) / "index")
            del built
            rec = Recommender.load(Path(tmp) / "index", EngineConfig())
    out: dict[str, list[str]] = {}
    for name in ("gaps_dev.jsonl", "gaps_dev_freetext.jsonl"):
        with open(chainkg_dir() / name, encoding="utf-8") as fh:
            for line in fh:
                g = json.loads(line)
                text = g.get("text") or g["item"]
                q = MatchQuery(
                    text=text,
                    for_product=g.get("leader_product"),
                    leader_firm_id=g["leader_id"],
                    scope=Scope.ALL,
                    filters=FirmFilter(exclude_firm_ids=frozenset({g["leader_id"]})),
                    k=10,
                    min_score=0.0,
                )
                t = time.perf_counter()
                out[f"{name}:{g['id']}"] = [m.firm.id for m in rec.match(q)]
                MATCH_SECONDS.append(time.perf_counter() - t)
    return out


def identity(
    save: Path | None, compare: Path | None, n: int = 0, exact_dense: bool = False
) -> dict[str, Any]:
    runs = identity_runs(n, exact_dense)
    ms = sorted(1e3 * s for s in MATCH_SECONDS)
    result: dict[str, Any] = {
        "queries": len(runs),
        "match_ms_p50_p99": [round(ms[len(ms) // 2], 2), round(ms[int(len(ms) * 0.99)], 2)],
        "load_average": os.getloadavg()[0],
    }
    if save:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(runs, ensure_ascii=False), encoding="utf-8")
    if compare:
        before = json.loads(compare.read_text(encoding="utf-8"))
        for prefix in ("gaps_dev.jsonl", "gaps_dev_freetext.jsonl"):
            keys = [k for k in before if k.startswith(prefix + ":")]
            same = sum(before[k] == runs.get(k) for k in keys)
            result[prefix] = {
                "queries": len(keys),
                "identical_top10": same,
                "share": round(same / len(keys), 4),
            }
    return result


def batch(n_queries: int) -> dict[str, Any]:
    """The sample cluster served by a real uvicorn server (tests/conftest.py's LiveServer, rate limit
    off): ``n_queries`` weak-link texts one ``POST /v1/match`` at a time, then in one
    ``POST /v1/match/batch`` call — queries/s of each, same process, same answers."""
    import tempfile

    from tests.conftest import LiveServer, load_sample, make_keys, make_settings, sample_leaders

    texts = [WARMUP[i % len(WARMUP)] + ("" if i < len(WARMUP) else f" {i}") for i in range(n_queries)]
    queries = [{"text": t, "scope": "outside", "k": 10} for t in texts]
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "var", rate_limit_per_minute=0)
        load_sample(settings)
        keys = make_keys(settings, *sample_leaders())
        with LiveServer(settings) as server, server.client(keys.bureau_gd) as c:
            for q in queries[:20]:
                c.post("/v1/match", json=q)  # warm-up
            t = time.perf_counter()
            for q in queries:
                assert c.post("/v1/match", json=q).status_code == 200
            single = time.perf_counter() - t
            t = time.perf_counter()
            body = {"queries": [{"id": str(i), **q} for i, q in enumerate(queries)]}
            response = c.post("/v1/match/batch", json=body)
            assert response.status_code == 200 and '"done"' in response.text.splitlines()[-1]
            batched = time.perf_counter() - t
    return {
        "firms": "sample (354)",
        "queries": n_queries,
        "single_qps": round(n_queries / single, 1),
        "batch_qps": round(n_queries / batched, 1),
        "ratio": round(single / batched, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["memory", "identity", "batch", "recall", "_probe"])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--n", type=int, default=None, help="firms (memory: default 100000; identity: chainkg)")
    ap.add_argument("--save", type=Path)
    ap.add_argument("--compare", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--index-dir", type=Path, help="the n-firm index's cache dir (default bench/out/scale/idx_{n}k)"
    )
    ap.add_argument(
        "--exact-dense", action="store_true", help="identity: the dense graph swapped for exact search"
    )
    ap.add_argument("--peer-dir", type=Path, help="memory: a second n-firm index dir probed in the same run")
    args = ap.parse_args()
    args.n_given = args.n is not None
    args.n = 100_000 if args.n is None else args.n
    if args.index_dir:
        _INDEX_DIR[args.n] = args.index_dir.resolve()
    if args.what == "_probe":
        _serve_probe(args.n)
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.what == "memory":
        result = memory(args.n, args.peer_dir.resolve() if args.peer_dir else None)
    elif args.what == "batch" and args.n_given:
        if args.n != 100_000:
            ap.error("batch --n: the prepared data dir holds 100,000 synthetic firms (--n 100000)")
        from bench.batch_http import run as batch_http

        result = batch_http(args.queries)
    elif args.what == "batch":
        result = batch(args.queries)
    elif args.what == "recall":
        from bench.dense_recall import run as dense_recall

        result = dense_recall([_index_dir(args.n)] + ([args.peer_dir.resolve()] if args.peer_dir else []))
    else:
        result = identity(args.save, args.compare, args.n if args.n_given else 0, args.exact_dense)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
