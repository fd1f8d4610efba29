"""Locust users of the load benchmark: bureaus matching, bureaus reading recommendations, the data
platform ingesting. Keys and ids come from the environment set by ``bench/load/run.py``."""

from __future__ import annotations

import json
import os
import random
from itertools import count

from locust import HttpUser, between, task

BUREAU_KEY = os.environ["LOAD_BUREAU_KEY"]
ADMIN_KEY = os.environ["LOAD_ADMIN_KEY"]
GAP_LIST_IDS = json.loads(os.environ["LOAD_GAP_LIST_IDS"])
QUERIES = json.loads(os.environ["LOAD_QUERIES"])
_ids = count()


class Bureau(HttpUser):
    weight = 4
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        self.client.headers["X-API-Key"] = BUREAU_KEY

    @task(6)
    def match(self) -> None:
        scope = random.choice(["outside", "inside", "all"])
        self.client.post(
            "/v1/match", json={"text": random.choice(QUERIES), "scope": scope, "k": 10}, name="POST /v1/match"
        )

    @task(2)
    def recommendations(self) -> None:
        list_id = random.choice(GAP_LIST_IDS)
        self.client.get(
            f"/v1/gap-lists/{list_id}/recommendations",
            params={"k": 10},
            name="GET /v1/gap-lists/{id}/recommendations",
        )


class Platform(HttpUser):
    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["X-API-Key"] = ADMIN_KEY

    @task
    def ingest(self) -> None:
        batch = []
        for _ in range(20):
            n = next(_ids)
            batch.append(
                {
                    "id": f"LOAD-{os.getpid()}-{n}",
                    "name": f"负载企业{n}",
                    "province": "江苏省",
                    "products": [{"name": random.choice(QUERIES), "share": 0.6}],
                }
            )
        self.client.post("/v1/firms", json=batch, name="POST /v1/firms (20 firms)")
