"""Several uvicorn workers writing and reading at once: no 'database is locked', no stale index."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import httpx
import pytest

from tests.procs import ServerProcess, firm_record, seeded_registry, unique_product

WORKERS = 3
WRITERS = 3
BATCHES_PER_WRITER = 8


@pytest.mark.slow
def test_workers_write_and_read_concurrently_and_never_serve_a_stale_index(tmp_path: Path) -> None:
    rng = random.Random(7)
    data_dir, env, seed, key = seeded_registry(tmp_path, rng, 200)
    server = ServerProcess(data_dir, workers=WORKERS, env=env).start()
    failures: list[str] = []
    stale: list[str] = []

    def writer(writer_no: int) -> None:
        local = random.Random(writer_no)
        for batch_no in range(BATCHES_PER_WRITER):
            batch = [firm_record(batch_no * 100 + i, rng=local, tag=f"W{writer_no}") for i in range(25)]
            # A new connection per request, so the requests spread over the worker processes.
            response = httpx.post(
                f"{server.url}/v1/firms", json=batch, headers={"X-API-Key": key}, timeout=120
            )
            if response.status_code != 200:
                failures.append(f"write {response.status_code}: {response.text[:200]}")
                continue
            # Once the write is acknowledged, every worker must find it.
            probe = local.choice(batch)
            for _ in range(WORKERS * 2):
                hits = httpx.post(
                    f"{server.url}/v1/match",
                    json={"text": unique_product(probe), "k": 5},
                    headers={"X-API-Key": key},
                    timeout=120,
                )
                if hits.status_code != 200:
                    failures.append(f"read {hits.status_code}: {hits.text[:200]}")
                elif probe["id"] not in [h["firm_id"] for h in hits.json()["results"]]:
                    stale.append(str(probe["id"]))

    def reader() -> None:
        for _ in range(40):
            response = httpx.post(
                f"{server.url}/v1/match",
                json={"text": "分子泵", "k": 10},
                headers={"X-API-Key": key},
                timeout=120,
            )
            if response.status_code != 200:
                failures.append(f"read {response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        log = "".join(p.read_text(errors="replace") for p in data_dir.glob("server-*.log"))
        assert not failures, failures[:5]
        assert not stale, f"stale index served for {stale[:5]}"
        assert "database is locked" not in log
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as c:
            ready = c.get("/readyz").json()
            assert ready["index"]["in_step"] is True
            assert ready["index"]["firms_indexed"] == len(seed) + WRITERS * BATCHES_PER_WRITER * 25
    finally:
        server.stop()
