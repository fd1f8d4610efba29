"""`POST /v1/firms` over real HTTP until searchable (``python -m bench.ingest --http FIRMS``)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench._data import chainkg_dir
from bench._server import prepare, scratch_copy, served

BATCH = 1000
PORT = 8731


def new_firms(firms: list[dict[str, Any]], batches: int) -> list[list[dict[str, Any]]]:
    """New firms copied from random corpus firms under new ids (the method of bench/latency_http)."""
    rng = random.Random(1)
    templates = [firms[rng.randrange(len(firms))] for _ in range(batches * BATCH)]
    return [
        [
            {k: v for k, v in t.items() if v is not None} | {"id": f"HTTP-{b}-{i}", "name": f"新企业{b}-{i}"}
            for i, t in enumerate(templates[b * BATCH : (b + 1) * BATCH])
        ]
        for b in range(batches)
    ]


def run_http(firms_path: Path, *, batches: int, py_spy: Path | None) -> dict[str, Any]:
    prepared = prepare(firms_path, chainkg_dir() / "product_relations.jsonl")
    bodies = new_firms(prepared.firms, batches)
    seconds: list[float] = []
    with (
        scratch_copy(prepared.data_dir, "ingest-http-scratch") as scratch,
        served(scratch, port=PORT, log_name="ingest-http-server.log") as (url, server),
        httpx.Client(base_url=url, headers={"X-API-Key": prepared.admin_key}, timeout=600) as client,
    ):
        before = client.get("/readyz").json()["index"]["firms_indexed"]
        spy = None
        if py_spy is not None:
            exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            fmt = {".txt": "raw", ".json": "speedscope"}.get(py_spy.suffix, "flamegraph")  # raw: text
            spy = subprocess.Popen(
                [exe, "record", "-o", str(py_spy), "--format", fmt, "--pid", str(server.pid), "--idle"]
            )
            time.sleep(2)
        started = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            response = client.post("/v1/firms", json=body)
            seconds.append(time.perf_counter() - t0)
            if response.status_code != 200 or response.json()["inserted"] != BATCH:
                raise RuntimeError(f"ingest failed: {response.status_code} {response.text[:300]}")
        t0 = time.perf_counter()
        match = client.post("/v1/match", json={"text": "分子泵", "k": 10, "scope": "all"})
        search_seconds = time.perf_counter() - t0
        total = time.perf_counter() - started
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=120)
        match.raise_for_status()
        index = client.get("/readyz").json()["index"]
        if not index["in_step"] or index["firms_indexed"] != before + batches * BATCH:
            raise RuntimeError(f"new firms not all indexed: {before} before, now {index}")
    n = batches * BATCH
    result = {
        "firms_before": before,
        "new_firms": n,
        "seconds": round(total, 2),
        "firms_per_s": round(n / total),
        "post_seconds": [round(x, 2) for x in seconds],
        "first_search_seconds": round(search_seconds, 2),
    }
    print(
        f"POST /v1/firms over HTTP at {before:,} firms: {n:,} new firms in {batches} calls of {BATCH:,}, "
        f"searchable after {total:.2f} s = {n / total:.0f} firms/s (calls {result['post_seconds']} s, "
        f"first search after them {search_seconds:.2f} s; load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return result
