"""kill -9 during bulk ingests, 20 times: acknowledged writes survive, index and database agree,
deleted firms never come back, re-sent batches create no duplicates."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.procs import ServerProcess, firm_record, seeded_registry, unique_product

ROUNDS = 20


def all_firm_ids(client: httpx.Client) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = client.get("/v1/firms", params={"limit": 200} | ({"cursor": cursor} if cursor else {})).json()
        ids += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


@pytest.mark.slow
def test_kill_9_during_ingest_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    data_dir, env, seed, key = seeded_registry(tmp_path, rng, 150)
    headers = {"X-API-Key": key}

    acknowledged: dict[str, dict[str, object]] = {r["id"]: r for r in seed}  # type: ignore[misc]
    deleted: dict[str, dict[str, object]] = {}
    last_batch: list[dict[str, object]] = []
    counter = 0
    for round_no in range(ROUNDS):
        server = ServerProcess(data_dir, env=env).start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            # After every restart: the database and the index agree with what was acknowledged.
            ready = client.get("/readyz").json()
            assert ready["index"]["in_step"] is True
            live = all_firm_ids(client)
            assert len(live) == len(set(live))
            assert set(acknowledged) <= set(live), "an acknowledged write was lost"
            assert not set(deleted) & set(live), "a deleted firm came back"
            assert ready["index"]["firms_indexed"] == len(live)
            for firm in list(deleted.values())[-3:]:
                hits = client.post("/v1/match", json={"text": unique_product(firm), "k": 20}).json()[
                    "results"
                ]
                assert firm["id"] not in {h["firm_id"] for h in hits}
            if last_batch:  # re-sending an acknowledged batch changes nothing
                again = client.post("/v1/firms", json=last_batch).json()
                assert again["inserted"] == 0 and again["unchanged"] == len(last_batch)
            # Delete one acknowledged firm (acknowledged by its 204).
            victim_id = rng.choice(sorted(acknowledged))
            assert client.delete(f"/v1/firms/{victim_id}").status_code == 204
            deleted[victim_id] = acknowledged.pop(victim_id)

        # Stream batches while a timer kills the server at a random moment.
        stop = threading.Event()

        def stream(
            server: ServerProcess = server, stop: threading.Event = stop, round_no: int = round_no
        ) -> None:
            nonlocal counter, last_batch
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
                while not stop.is_set():
                    batch = [firm_record(counter + i, rng=rng, tag=f"R{round_no:02d}") for i in range(40)]
                    counter += len(batch)
                    try:
                        response = c.post("/v1/firms", json=batch)
                    except httpx.HTTPError:
                        return  # killed mid-request: not acknowledged
                    if response.status_code == 200:
                        for record in batch:
                            acknowledged[str(record["id"])] = record
                        last_batch = batch

        writer = threading.Thread(target=stream)
        writer.start()
        time.sleep(rng.uniform(0.3, 2.5))
        server.kill9()
        stop.set()
        writer.join(timeout=60)

    final = ServerProcess(data_dir, env=env).start()
    try:
        with httpx.Client(base_url=final.url, headers=headers, timeout=60) as client:
            live = set(all_firm_ids(client))
            assert set(acknowledged) <= live and not set(deleted) & live
            assert client.get("/readyz").json()["index"]["firms_indexed"] == len(live)
            probe = rng.choice(sorted(set(acknowledged) - {r["id"] for r in seed}))
            hits = client.post("/v1/match", json={"text": unique_product(acknowledged[probe]), "k": 5}).json()
            assert probe in [h["firm_id"] for h in hits["results"]]
    finally:
        final.stop()
