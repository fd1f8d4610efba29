"""Latency over real HTTP: `POST /v1/match` and one weak link's recommendations, at 4.6k and 100k firms.

    python -m bench.latency_http [--corpus chainkg|100k|both] [--requests 300] [--workers 1]

For each corpus a real `chainmatch serve` (1 uvicorn worker unless told otherwise) runs on a data
dir prepared through the CLI (see bench/_server.py). Queries are chainkg's dev gap items with their
leader product as context, region 广东省; recommendations are read from single-item gap lists of a
广东 leader (two lists, k=10 each). Each figure is measured with one client (sequential requests)
and with 8 concurrent clients (8 threads, one keep-alive connection each). Beside them, in the same
run, the floor every request pays: an authenticated `GET /v1/firms/{id}` (auth, one DB read,
serialisation, no retrieval). Last, ingest throughput: `POST /v1/firms` with 1,000 new firms per
call, each answered after the database write and the index catch-up (on a scratch copy).

The 100k corpus is ``bench/out/synth_100k.jsonl``, written by bench/synth.py when missing.
Figures go to stdout and to bench/out/latency_http.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench._data import chainkg_dir, load_gaps
from bench._server import OUT, guangdong_leader, prepare, scratch_copy, served

SYNTH_100K = OUT / "synth_100k.jsonl"
CONCURRENCY = 8
LIST_PREFIX = "延迟测试"
INGEST = "POST /v1/firms (1,000 new firms per call)"

Request = Callable[[httpx.Client], httpx.Response]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summarise(latencies_ms: list[float], seconds: float) -> dict[str, float]:
    return {
        "n": len(latencies_ms),
        "p50_ms": round(statistics.median(latencies_ms), 1),
        "p99_ms": round(percentile(latencies_ms, 99), 1),
        "mean_ms": round(statistics.fmean(latencies_ms), 1),
        "req_per_s": round(len(latencies_ms) / seconds, 1),
    }


def timed(client: httpx.Client, request: Request) -> float:
    t0 = time.perf_counter()
    response = request(client)
    elapsed = (time.perf_counter() - t0) * 1000
    if response.status_code != 200:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:300]}"
        )
    return elapsed


def run_sequential(url: str, key: str, requests: list[Request]) -> dict[str, float]:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
        for request in requests[:20]:  # warm-up: connection, caches, first-touch pages
            timed(client, request)
        t0 = time.perf_counter()
        latencies = [timed(client, r) for r in requests]
        return summarise(latencies, time.perf_counter() - t0)


def run_concurrent(url: str, key: str, requests: list[Request], clients: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[Exception] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def worker(share: list[Request]) -> None:
        try:
            with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
                timed(client, share[0])
                barrier.wait()
                mine = [timed(client, r) for r in share]
            with lock:
                latencies.extend(mine)
        except Exception as exc:  # noqa: BLE001  (re-raised below, not lost in a thread)
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(requests[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: reported below
        barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed") from errors[0]
    return summarise(latencies, time.perf_counter() - t0)


def match_request(item: str, for_product: str | None) -> Request:
    body = {"text": item, "for_product": for_product, "region": "广东省", "scope": "all", "k": 10}
    return lambda client: client.post("/v1/match", json=body)


def recommendations_request(list_id: str) -> Request:
    return lambda client: client.get(f"/v1/gap-lists/{list_id}/recommendations", params={"k": 10})


def firm_request(firm_id: str) -> Request:
    return lambda client: client.get(f"/v1/firms/{firm_id}")


def bench_ingest(
    data_dir: Path, firms: list[dict], admin_key: str, *, port: int, batches: int, size: int
) -> dict[str, Any]:
    """`POST /v1/firms` of new firms in batches: validation, the database write and the index
    catch-up (all channels, the default encoder included) before the response — on a scratch copy
    of the data dir, so that the prepared corpus stays as it is."""
    rng = random.Random(1)
    templates = [firms[rng.randrange(len(firms))] for _ in range(batches * size)]
    seconds: list[float] = []
    with (
        scratch_copy(data_dir, "ingest-scratch") as scratch,
        served(scratch, port=port, log_name="ingest-server.log") as (url, _),
        httpx.Client(base_url=url, headers={"X-API-Key": admin_key}, timeout=600) as client,
    ):
        for b in range(batches):
            batch = [
                {k: v for k, v in t.items() if v is not None}
                | {"id": f"HTTP-{b}-{i}", "name": f"新企业{b}-{i}"}
                for i, t in enumerate(templates[b * size : (b + 1) * size])
            ]
            t0 = time.perf_counter()
            response = client.post("/v1/firms", json=batch)
            seconds.append(time.perf_counter() - t0)
            if response.status_code != 200 or response.json()["inserted"] != size:
                raise RuntimeError(f"ingest failed: {response.status_code} {response.text[:300]}")
    return {
        "batches": batches,
        "batch_size": size,
        "firms_per_s": round(batches * size / sum(seconds), 0),
        "batch_seconds": [round(x, 2) for x in seconds],
    }


def bench_corpus(label: str, firms_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(0)
    gaps = load_gaps()
    print(f"\n== {label}: {firms_path}", flush=True)
    prepared = prepare(firms_path, chainkg_dir() / "product_relations.jsonl")
    leader = guangdong_leader(prepared.firms)
    items = list(dict.fromkeys((g["item"], g["leader_product"]) for g in gaps))
    rng.shuffle(items)
    per_item = items[: args.lists]
    prepared.import_gap_lists(
        [
            {"leader_firm_id": leader, "title": f"{LIST_PREFIX}{i}", "items": [{"name": n, "for_product": p}]}
            for i, (n, p) in enumerate(per_item)
        ],
        name="latency_gap_lists",
    )
    match_requests = [match_request(n, p) for n, p in (items * 2)[: args.requests]]
    firm_ids = [f["id"] for f in rng.sample(prepared.firms, min(len(prepared.firms), args.requests))]
    firm_requests = [firm_request(i) for i in firm_ids]

    out: dict[str, Any] = {"firms": len(prepared.firms), "workers": args.workers}
    port = 8720 + (0 if label == "chainkg" else 1)
    with served(prepared.data_dir, port=port, workers=args.workers, log_name="latency-server.log") as (
        url,
        _,
    ):
        with httpx.Client(base_url=url, headers={"X-API-Key": prepared.bureau_key}, timeout=60) as client:
            lists = client.get("/v1/gap-lists", params={"limit": 100}).json()["items"]
        list_ids = [gl["id"] for gl in lists if gl["title"].startswith(LIST_PREFIX)]
        rec_requests = [recommendations_request(i) for i in (list_ids * 20)[: args.requests // 2]]
        suites = {
            "POST /v1/match": match_requests,
            "GET /v1/gap-lists/{id}/recommendations (1 item, 2 lists)": rec_requests,
            "floor: GET /v1/firms/{id}": firm_requests,
        }
        for name, requests in suites.items():
            single = run_sequential(url, prepared.bureau_key, requests)
            concurrent = run_concurrent(url, prepared.bureau_key, requests, CONCURRENCY)
            out[name] = {"1 client": single, f"{CONCURRENCY} clients": concurrent}
            print(
                f"{name:<58} 1 client p50/p99 {single['p50_ms']:>6.1f} / {single['p99_ms']:>6.1f} ms "
                f"({single['req_per_s']:.0f} req/s) | {CONCURRENCY} clients p50/p99 "
                f"{concurrent['p50_ms']:>6.1f} / {concurrent['p99_ms']:>6.1f} ms ({concurrent['req_per_s']:.0f} req/s)",
                flush=True,
            )
    return out


def ingest_corpus(label: str, firms_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    prepared = prepare(firms_path, chainkg_dir() / "product_relations.jsonl")
    port = 8722 + (0 if label == "chainkg" else 1)
    ingest = bench_ingest(
        prepared.data_dir,
        prepared.firms,
        prepared.admin_key,
        port=port,
        batches=args.ingest_batches,
        size=1000,
    )
    print(
        f"{label}: POST /v1/firms, {ingest['batches']} calls of 1,000 new firms: {ingest['firms_per_s']:.0f} firms/s "
        f"(write + index catch-up incl. embedding; seconds per call {ingest['batch_seconds']})",
        flush=True,
    )
    return ingest


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", choices=["chainkg", "100k", "both"], default="both")
    parser.add_argument("--requests", type=int, default=300, help="requests per figure")
    parser.add_argument("--lists", type=int, default=40, help="single-item gap lists to read")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--ingest-batches", type=int, default=5, help="calls of 1,000 new firms")
    parser.add_argument("--ingest-only", action="store_true", help="measure only the ingest figure")
    parser.add_argument("--json", type=Path, default=OUT / "latency_http.json")
    args = parser.parse_args()
    # Figures of a corpus not run this time are kept from the last run.
    results: dict[str, Any] = json.loads(args.json.read_text(encoding="utf-8")) if args.json.exists() else {}
    corpora: dict[str, Path] = {}
    if args.corpus in ("chainkg", "both"):
        corpora["chainkg"] = chainkg_dir() / "firms.jsonl"
    if args.corpus in ("100k", "both"):
        if not SYNTH_100K.exists():
            subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).with_name("synth.py")),
                    "--n",
                    "100000",
                    "--out",
                    str(SYNTH_100K),
                ],
                check=True,
            )
        corpora["100k"] = SYNTH_100K
    for label, path in corpora.items():
        figures = results.get(label, {}) if args.ingest_only else bench_corpus(label, path, args)
        figures[INGEST] = ingest_corpus(label, path, args)
        results[label] = figures
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
