"""``python bench/scale.py batch --n 100000``: POST /v1/match/batch against one POST /v1/match at a
time, over real HTTP, on the prepared 100k-firm data dir (bench/_server), rate limit off.

Two workloads of a data platform, each asked both ways in the same server process:

* ``distinct`` — the chainkg dev gaps' free-text rewrites (gaps_dev_freetext.jsonl ``text``, the
  leader product as ``for_product``, the leader excluded), scope outside 广东省 (the bureau's key);
* ``rematch`` — the platform's re-match: every dev gap (its catalog item, then its free-text
  rewrites), each asked for both lists: scope outside and inside 广东省.

Each workload is asked in ``ROUNDS`` rounds of one batch call, then one call at a time (in the
first round the single calls, not the batch, find the engine's readings of the texts cached); the
best round of each way is reported, beside every round's figure, and the firm ids of every answer
must be the same both ways in every round.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

from bench._data import chainkg_dir
from bench._server import OUT, prepare, served

PORT = 8733
WARMUP = 40  # single calls of other rewrites before anything is timed (pages of the mapped index)
ROUNDS = 3


def _gaps(name: str) -> list[dict[str, Any]]:
    with open(chainkg_dir() / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _query(text: str, gap: dict[str, Any], scope: str) -> dict[str, Any]:
    return {
        "text": text,
        "for_product": gap.get("leader_product"),
        "leader_firm_id": gap["leader_id"],
        "scope": scope,
        "k": 10,
    }


def workloads(n_queries: int) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(warm-up queries, {workload: its first ``n_queries`` queries})."""
    rewrites = _gaps("gaps_dev_freetext.jsonl")
    by_gap: dict[str, list[str]] = {}
    for r in rewrites:
        by_gap.setdefault(r["gap_id"], []).append(r["text"])
    rematch = [
        _query(text, gap, scope)
        for gap in _gaps("gaps_dev.jsonl")
        for text in (gap["item"], *by_gap.get(gap["id"], ()))
        for scope in ("outside", "inside")
    ]
    distinct = [_query(r["text"], r, "outside") for r in rewrites]
    warm = distinct[-WARMUP:]
    return warm, {"distinct": distinct[:n_queries], "rematch": rematch[:n_queries]}


def _ids(answer: dict[str, Any]) -> list[str]:
    return [r["firm_id"] for r in answer["results"]]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its descendants (/proc), its threads included."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        child = int(stat.parent.name)
        parent[child], ticks[child] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, grew = {pid}, True
    while grew:
        grown = {child for child, up in parent.items() if up in tree} - tree
        tree |= grown
        grew = bool(grown)
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def _batch(client: httpx.Client, queries: list[dict[str, Any]]) -> tuple[float, list[list[str]]]:
    body = {"queries": [{"id": str(i), **q} for i, q in enumerate(queries)]}
    t = time.perf_counter()
    response = client.post("/v1/match/batch", json=body)
    seconds = time.perf_counter() - t
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    if response.status_code != 200 or not lines[-1].get("done") or lines[-1]["errors"]:
        raise RuntimeError(f"batch failed: {response.status_code} {lines[-1:]}")
    return seconds, [_ids(line) for line in lines[:-1]]


def _single(client: httpx.Client, queries: list[dict[str, Any]]) -> tuple[float, list[list[str]]]:
    t = time.perf_counter()
    ids = []
    for q in queries:
        r = client.post("/v1/match", json=q)
        r.raise_for_status()
        ids.append(_ids(r.json()))
    return time.perf_counter() - t, ids


def _measure(client: httpx.Client, queries: list[dict[str, Any]], pid: int) -> dict[str, Any]:
    """``ROUNDS`` rounds of (one batch call, then the queries one at a time); the best round of
    each: the machine is shared, and a burst of another process's work slows one round, not all.
    Beside the wall clock, the server's CPU seconds, which another process's load hardly changes."""
    load = os.getloadavg()[0]
    batch_s, single_s, batch_cpu, single_cpu, identical = [], [], [], [], []
    for _ in range(ROUNDS):
        cpu = server_cpu_seconds(pid)
        seconds, batch_ids = _batch(client, queries)
        batch_s.append(seconds)
        batch_cpu.append(server_cpu_seconds(pid) - cpu)
        cpu = server_cpu_seconds(pid)
        seconds, single_ids = _single(client, queries)
        single_s.append(seconds)
        single_cpu.append(server_cpu_seconds(pid) - cpu)
        identical.append(sum(a == b for a, b in zip(batch_ids, single_ids, strict=True)))
    n = len(queries)
    return {
        "queries": n,
        "single_qps": round(n / min(single_s), 1),
        "batch_qps": round(n / min(batch_s), 1),
        "ratio": round(min(single_s) / min(batch_s), 2),
        "rounds_single_qps": [round(n / x, 1) for x in single_s],
        "rounds_batch_qps": [round(n / x, 1) for x in batch_s],
        "server_cpu_ms_per_query_single": round(min(single_cpu) / n * 1000, 2),
        "server_cpu_ms_per_query_batch": round(min(batch_cpu) / n * 1000, 2),
        "cpu_ratio": round(min(single_cpu) / min(batch_cpu), 2),
        "identical_answers": min(identical),
        "load_average_before": round(load, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def run(n_queries: int) -> dict[str, Any]:
    prepared = prepare(OUT / "synth_100k.jsonl", chainkg_dir() / "product_relations.jsonl")
    warm, asked = workloads(n_queries)
    out: dict[str, Any] = {"firms": len(prepared.firms)}
    with (
        served(prepared.data_dir, port=PORT, log_name="batch-http-server.log") as (url, server),
        httpx.Client(base_url=url, headers={"X-API-Key": prepared.bureau_key}, timeout=900) as client,
    ):
        for q in warm:
            client.post("/v1/match", json=q).raise_for_status()
        for name, queries in asked.items():
            out[name] = _measure(client, queries, server.pid)
            print(name, json.dumps(out[name]), flush=True)
    return out
