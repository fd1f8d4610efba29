"""Sharding on Ray (issue 11 part 2): sharded answers against one engine, and a sharded server's
cost beside the unsharded one.

    python bench/shards.py chainkg     # chainkg dev set: 3 shards on a local Ray vs one engine
    python bench/shards.py http100k    # 100k synthetic firms over HTTP: 4 shards vs one process
    python bench/shards.py exact100k   # ... and the sharded answers vs one *exact* engine at 100k

``chainkg`` imports chainkg into a fresh data dir (the real importer), builds one engine in this
process (:class:`~chainmatch.indexing.IndexService`) and a :class:`ShardedIndexService` with 3
shards on a local Ray that this process starts, and asks both the 554 catalog dev gaps and their
1,108 free-text rewrites, each as scope outside, inside (region 广东省) and all — the leader
excluded, k 10, min_score 0 (so that the floor does not hide a changed order). It counts identical
top-10 lists (ids and order) per set and scope and lists every difference with both lists.

``http100k`` needs the data dir bench/_server.prepare() made for bench/out/synth_100k.jsonl (it
refuses to start while that is still being prepared). It serves it unsharded (`chainmatch serve`:
start-up loads the saved index), then a scratch copy with ``CHAINMATCH_SHARDS=4`` (start-up fits
the corpus statistics and builds 4 shards as Ray tasks on a Ray the server starts), and for each:
seconds from start to ready, ``POST /v1/match`` p50/p99 over ~300 free-text dev queries (scope
outside, the 广东省 bureau's key; one client, then 4 concurrent), and the memory of every process
of the server — the API process and all its descendants (Ray's GCS, raylet, workers, shard actors):
the sum of RSS and of PSS (/proc/PID/smaps_rollup, which counts pages shared between processes
once). Last, whether the sharded answers (firm ids, in order) equal the unsharded ones.

``exact100k`` explains the 100k differences: one engine over the same 100k firms searches its
dense channel with an HNSW graph (above ``ann_threshold`` = 200k distinct texts: approximate),
while each 25k-firm shard is below it and searches exactly. It builds one engine in this process
over the prepared database with exact dense search and compares the http100k run's answers (both
lists, saved in bench/out/shards_http100k_answers.json) with its answers to the same queries; then
again with its per-firm cut-offs (``candidate_pool``, ``rerank_pool``) widened 4×, which one engine
takes over all firms and each shard over its own (recommender/merge.py).

Results are printed as JSON and written to bench/out/shards_<run>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import chainkg_dir, load_gaps
from bench._server import OUT, prepare, scratch_copy, served
from bench.latency_http import Request, run_concurrent, summarise

SETS = {"catalog": "gaps_dev.jsonl", "freetext": "gaps_dev_freetext.jsonl"}
SCOPES = ("outside", "inside", "all")
PROVINCE = "广东省"
SYNTH_100K = OUT / "synth_100k.jsonl"
HTTP_QUERIES = 300
WARM_UP = 20
CLIENTS = 4


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def dev_gaps() -> list[tuple[str, dict[str, Any]]]:
    """(set name, gap) for every catalog dev gap and every free-text rewrite."""
    return [(name, g) for name, file in SETS.items() for g in load_gaps(chainkg_dir() / file)]


# ---------------------------------------------------------------------------- chainkg, in process
def chainkg(n_shards: int = 3) -> dict[str, Any]:
    from chainmatch.db import make_engine
    from chainmatch.indexing import IndexService
    from chainmatch.sharding.service import ShardedIndexService
    from tests.conftest import chainkg_settings

    root = OUT / "shards" / "chainkg"
    if root.exists():
        import shutil

        shutil.rmtree(root)
    started = time.perf_counter()
    settings = chainkg_settings((root / "var").resolve())
    imported_s = time.perf_counter() - started
    keys, queries = chainkg_queries()

    started = time.perf_counter()
    single = IndexService(settings, make_engine(settings))
    single.start()
    single_build_s = time.perf_counter() - started
    single_answers, single_query_s = answer_all(single, queries)
    del single

    import ray

    started = time.perf_counter()
    service = ShardedIndexService(settings.model_copy(update={"shards": n_shards}), make_engine(settings))
    service.start()  # starts a local Ray: fits the statistics, builds the shards as tasks
    sharded_build_s = time.perf_counter() - started
    try:
        sharded_answers, sharded_query_s = answer_all(service, queries)
        batch_answers, batch_query_s = answer_batches(service, queries)
        actors = ray.get([a.memory.remote() for a in service.actors])
    finally:
        for actor in service.actors:
            ray.kill(actor, no_restart=True)
        service.close()

    counts: dict[str, dict[str, list[int]]] = {s: {scope: [0, 0] for scope in SCOPES} for s in SETS}
    differences = []
    for (set_name, gap_id, scope), q, a, b in zip(
        keys, queries, single_answers, sharded_answers, strict=True
    ):
        counts[set_name][scope][0] += a == b
        counts[set_name][scope][1] += 1
        if a != b:
            differences.append(
                {"set": set_name, "id": gap_id, "scope": scope, "text": q.text, "single": a, "sharded": b}
            )
    identical = len(queries) - len(differences)
    return {
        "corpus": f"chainkg ({service.n_shards} shards vs one engine, statistics fitted globally)",
        "queries": len(queries),
        "identical_top10": identical,
        "share": round(identical / len(queries), 4),
        "lists_with_10_firms": sum(len(a) == 10 for a in single_answers),
        "empty_lists": sum(not a for a in single_answers),
        "by_set_and_scope": {s: {k: f"{a}/{n}" for k, (a, n) in c.items()} for s, c in counts.items()},
        "differences": differences,
        "seconds": {
            "import": round(imported_s, 1),
            "single_build": round(single_build_s, 1),
            "sharded_start_and_build": round(sharded_build_s, 1),
            "single_queries": round(single_query_s, 1),
            "sharded_queries": round(sharded_query_s, 1),
            "sharded_batches": round(batch_query_s, 1),
        },
        "sharded_batch_identical_to_sharded_single": f"{sum(a == b for a, b in zip(batch_answers, sharded_answers, strict=True))}/{len(queries)}",
        "shard_actors": actors,
        "load_average_after": load_average(),
    }


def chainkg_queries() -> tuple[list[tuple[str, str, str]], list[Any]]:
    from recommender.corpus import FirmFilter, MatchQuery, Region, Scope

    keys, queries = [], []
    for set_name, g in dev_gaps():
        for scope in SCOPES:
            keys.append((set_name, str(g["id"]), scope))
            queries.append(
                MatchQuery(
                    text=g.get("text") or g["item"],
                    for_product=g.get("leader_product"),
                    leader_firm_id=g["leader_id"],
                    region=Region(province=PROVINCE),
                    scope=Scope(scope),
                    filters=FirmFilter(exclude_firm_ids=frozenset({g["leader_id"]})),
                    k=10,
                    min_score=0.0,
                )
            )
    return keys, queries


def answer_all(index: Any, queries: list[Any]) -> tuple[list[list[str]], float]:
    started = time.perf_counter()
    with index.searching() as engine:
        answers = [[m.firm.id for m in engine.match(q)] for q in queries]
    return answers, time.perf_counter() - started


def answer_batches(index: Any, queries: list[Any], chunk: int = 128) -> tuple[list[list[str]], float]:
    """The queries as the service's batch asks them: ``match_many``, ``chunk`` at a time."""
    started = time.perf_counter()
    answers: list[list[str]] = []
    with index.searching() as engine:
        for start in range(0, len(queries), chunk):
            for answer in engine.match_many(queries[start : start + chunk]):
                answers.append([m.firm.id for m in answer])
    return answers, time.perf_counter() - started


# ---------------------------------------------------------------------------- 100k over HTTP
def http100k() -> dict[str, Any]:
    marker = OUT / "serve" / SYNTH_100K.stem / "prepared.json"
    if not marker.exists():
        raise SystemExit(f"{marker} missing: prepare the 100k data dir first (bench/_server.prepare)")
    prepared = prepare(SYNTH_100K, chainkg_dir() / "product_relations.jsonl")
    warm_up, measured = http_bodies()
    env = {"CHAINMATCH_LOG_LEVEL": "INFO"}  # both: the sharded server logs its build's seconds
    out: dict[str, Any] = {"firms": len(prepared.firms), "queries": len(measured)}
    out["unsharded"] = serve_and_measure(prepared.data_dir, 8741, env, prepared.bureau_key, warm_up, measured)
    with scratch_copy(prepared.data_dir, "shards-scratch") as scratch:
        out["sharded_4"] = serve_and_measure(
            scratch, 8742, env | {"CHAINMATCH_SHARDS": "4"}, prepared.bureau_key, warm_up, measured
        )
    a, b = out["unsharded"].pop("answers"), out["sharded_4"].pop("answers")
    answers = [{"query": q, "unsharded": x, "sharded": y} for q, x, y in zip(measured, a, b, strict=True)]
    (OUT / "shards_http100k_answers.json").write_text(
        json.dumps(answers, ensure_ascii=False), encoding="utf-8"
    )
    out["identical_answers"] = f"{sum(x == y for x, y in zip(a, b, strict=True))}/{len(a)}"
    out["differences"] = [
        {"text": q["text"], "unsharded": x, "sharded": y}
        for q, x, y in zip(measured, a, b, strict=True)
        if x != y
    ]
    return out


def http_bodies() -> tuple[list[dict], list[dict]]:
    """Warm-up and measured ``/v1/match`` bodies: chainkg dev free-text rewrites, scope outside."""
    gaps = load_gaps(chainkg_dir() / SETS["freetext"])
    bodies = [
        {
            "text": g["text"][:200],
            "for_product": g.get("leader_product"),
            "leader_firm_id": g["leader_id"],
            "region": PROVINCE,
            "scope": "outside",
            "k": 10,
        }
        for g in gaps[: HTTP_QUERIES + WARM_UP]
    ]
    return bodies[HTTP_QUERIES:], bodies[:HTTP_QUERIES]


def serve_and_measure(
    data_dir: Path, port: int, env: dict[str, str], key: str, warm_up: list[dict], measured: list[dict]
) -> dict[str, Any]:
    load_before = load_average()
    started = time.perf_counter()
    log_name = f"shards-server-{port}.log"
    with served(data_dir, port=port, env=env, log_name=log_name, ready_timeout_s=3600) as (url, server):
        ready_s = time.perf_counter() - started
        load_at_ready = load_average()
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120) as client:
            for body in warm_up:
                ask(client, body)
            t0 = time.perf_counter()
            timed = [ask(client, body) for body in measured]
            one_client = summarise([ms for ms, _ in timed], time.perf_counter() - t0)
            batch = ask_batch(client, measured, [ids for _, ids in timed])
        posts = [match_post(body) for body in measured]
        concurrent = run_concurrent(url, key, posts, CLIENTS)  # each client warms up on its first
        memory = process_memory(server.pid)
        status = httpx.get(f"{url}/readyz", timeout=10).json()
    return {
        "ready_s": round(ready_s, 1),
        "build_log": build_lines(data_dir.parent / log_name),
        "readyz": status,
        "POST /v1/match, 1 client": one_client,
        f"POST /v1/match, {CLIENTS} clients": concurrent,
        "POST /v1/match/batch, the same queries in one call": batch,
        "memory": memory,
        "load_average": {"before_start": load_before, "at_ready": load_at_ready, "after": load_average()},
        "answers": [ids for _, ids in timed],
    }


def match_post(body: dict) -> Request:
    return lambda client: client.post("/v1/match", json=body)


def ask(client: httpx.Client, body: dict) -> tuple[float, list[str]]:
    t0 = time.perf_counter()
    response = match_post(body)(client)
    elapsed = (time.perf_counter() - t0) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"/v1/match: {response.status_code} {response.text[:300]}")
    return elapsed, [r["firm_id"] for r in response.json()["results"]]


def ask_batch(client: httpx.Client, bodies: list[dict], singles: list[list[str]]) -> dict[str, Any]:
    """The measured queries as one ``POST /v1/match/batch``: queries/s beside the single calls',
    and whether every answer is the single call's."""
    t0 = time.perf_counter()
    response = client.post(
        "/v1/match/batch", json={"queries": [{"id": str(i), **b} for i, b in enumerate(bodies)]}
    )
    seconds = time.perf_counter() - t0
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    answers = [[r["firm_id"] for r in line.get("results", [])] for line in lines[:-1]]
    return {
        "status": response.status_code,
        "queries_per_s": round(len(bodies) / seconds, 1),
        "seconds": round(seconds, 2),
        "trailer": lines[-1] if lines else None,
        "identical_to_single_calls": f"{sum(a == b for a, b in zip(answers, singles, strict=False))}/{len(bodies)}",
    }


def build_lines(log: Path) -> list[str]:
    """What the server logged about loading or building its index (INFO)."""
    words = ("shards built", "shard ", "index loaded", "loaded", "ChainMatch ready")
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line[:300] for line in lines if any(w in line for w in words)][:40]


def exact100k() -> dict[str, Any]:
    from dataclasses import replace

    from sqlmodel import Session

    from chainmatch.corpus_loader import load_firm_docs, load_relations
    from chainmatch.db import make_engine
    from chainmatch.indexing import engine_config
    from chainmatch.settings import Settings
    from recommender.corpus import MatchQuery, Region, Scope
    from recommender.engine import Recommender

    saved = json.loads((OUT / "shards_http100k_answers.json").read_text(encoding="utf-8"))
    settings = Settings(data_dir=OUT / "serve" / SYNTH_100K.stem / "var")
    db = make_engine(settings)
    with Session(db) as session:
        firms, relations = load_firm_docs(session), load_relations(session)
    db.dispose()
    started = time.perf_counter()
    exact = Recommender.build(firms, relations, replace(engine_config(settings), ann_threshold=10**9))
    build_s = time.perf_counter() - started
    queries = [
        MatchQuery(
            text=a["query"]["text"],
            for_product=a["query"]["for_product"],
            leader_firm_id=a["query"]["leader_firm_id"],
            region=Region(province=PROVINCE),
            scope=Scope.OUTSIDE,
            k=10,
        )
        for a in saved
    ]
    out: dict[str, Any] = {"firms": len(firms), "queries": len(queries), "exact_build_s": round(build_s, 1)}
    for label, widen in (("default cut-offs", 1), ("cut-offs widened 4x", 4)):
        exact.config.candidate_pool *= widen
        exact.config.rerank_pool *= widen
        answers = [[m.firm.id for m in exact.match(q)] for q in queries]
        same_sharded = sum(x == a["sharded"] for x, a in zip(answers, saved, strict=True))
        same_hnsw = sum(x == a["unsharded"] for x, a in zip(answers, saved, strict=True))
        out[f"exact one engine, {label}"] = {
            "identical to 4 shards": f"{same_sharded}/{len(saved)}",
            "identical to the HNSW one engine (served)": f"{same_hnsw}/{len(saved)}",
            "differences from 4 shards": [
                {"text": q.text, "exact": x, "sharded": a["sharded"]}
                for q, x, a in zip(queries, answers, saved, strict=True)
                if x != a["sharded"]
            ],
        }
    return out


# ---------------------------------------------------------------------------- memory of a process tree
def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, session id) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[3])


def server_processes(root: int) -> list[int]:
    """The server and every process it started: its descendants, and anything left in its session
    (it runs in a session of its own, so a re-parented Ray daemon is still counted)."""
    parents: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = st
    found = {root}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, sid) in parents.items():
            if pid not in found and (ppid in found or sid == root):
                found.add(pid)
                changed = True
    return sorted(found)


def _kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_memory(root: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for pid in server_processes(root):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        row: dict[str, Any] = {"pid": pid, "cmd": " ".join(cmd.split())[:90]}
        # RssShmem: pages of Ray's object store (shared memory) this process has touched
        for name, path, field in (
            ("rss_mb", "status", "VmRSS"),
            ("pss_mb", "smaps_rollup", "Pss"),
            ("anon_mb", "status", "RssAnon"),
            ("file_mb", "status", "RssFile"),
            ("shmem_mb", "status", "RssShmem"),
        ):
            row[name] = round(_kb(f"/proc/{pid}/{path}", field) / 1024, 1)
        if row["rss_mb"]:
            rows.append(row)
    return {
        "processes": len(rows),
        "rss_total_mb": round(sum(r["rss_mb"] for r in rows), 1),
        "pss_total_mb": round(sum(r["pss_mb"] for r in rows), 1),
        "by_process": sorted(rows, key=lambda r: -r["pss_mb"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", choices=["chainkg", "http100k", "exact100k"])
    args = parser.parse_args()
    result = {"chainkg": chainkg, "http100k": http100k, "exact100k": exact100k}[args.run]()
    result["load_average_end"] = load_average()
    text = json.dumps(result, ensure_ascii=False, indent=1)
    (OUT / f"shards_{args.run}.json").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
