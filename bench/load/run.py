"""Load benchmark: Locust (headless) against a local server at 100k firms.

20 users for 2 minutes by default, mixing bureau matches, gap-list recommendations and platform
ingests; samples the server's memory (RSS) and open files every 5 s. Prints the figures; the raw
Locust CSVs land in bench/out/load/.

    python -m bench.load.run [--firms bench/out/synth_100k.jsonl] [--users 20] [--duration 2m]
                             [--workers 1] [--read-only]

The 100k corpus comes from ``python bench/synth.py --n 100000 --out bench/out/synth_100k.jsonl``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import httpx

from bench._data import chainkg_dir
from bench._server import BIN, OUT, guangdong_leader, prepare, scratch_copy, served

LOAD_OUT = OUT / "load"
QUERIES = [
    "分子泵",
    "离子源",
    "光电倍增管",
    "锂电池隔膜",
    "特种气体",
    "精密轴承",
    "电源模块",
    "传感器",
    "光学镜片",
    "碳纤维",
    "伺服电机",
    "PCB",
    "电解液",
    "高纯石英",
    "液压泵",
    "减速器",
    "硅片",
    "环氧树脂",
]


def proc_stats(pid: int) -> tuple[float, int]:
    """(RSS in MB, open file descriptors) of the server process and its children together."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *(int(p) for p in (children.read_text().split() if children.exists() else []))]
    rss_kb = fds = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except FileNotFoundError:
            continue
    return rss_kb / 1024, fds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--firms", type=Path, default=OUT / "synth_100k.jsonl")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", default="2m")
    parser.add_argument("--port", type=int, default=8711)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--read-only", action="store_true", help="bureaus only: no ingests, memory must stay flat"
    )
    args = parser.parse_args()
    LOAD_OUT.mkdir(parents=True, exist_ok=True)

    prepared = prepare(args.firms, chainkg_dir() / "product_relations.jsonl")
    leader = guangdong_leader(prepared.firms)
    prepared.import_gap_lists(
        [
            {
                "leader_firm_id": leader,
                "title": f"负载测试清单{i}",
                "items": [{"name": q} for q in QUERIES[i * 5 : (i + 1) * 5]],
            }
            for i in range(3)
        ],
        name="load_gap_lists",
    )
    with (
        scratch_copy(prepared.data_dir, "load-scratch") as data_dir,  # the ingests must not grow the corpus
        served(data_dir, port=args.port, workers=args.workers, log_name="load-server.log") as (url, server),
    ):
        bureau, admin = prepared.bureau_key, prepared.admin_key
        lists = httpx.get(f"{url}/v1/gap-lists", params={"limit": 100}, headers={"X-API-Key": bureau}).json()[
            "items"
        ]
        list_ids = [gl["id"] for gl in lists if gl["title"].startswith("负载测试清单")]
        samples: list[tuple[float, float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            t0 = time.monotonic()
            while not stop.is_set():
                rss, fds = proc_stats(server.pid)
                samples.append((time.monotonic() - t0, rss, fds))
                stop.wait(5)

        sampler = threading.Thread(target=sample)
        sampler.start()
        locust_env = dict(
            os.environ,
            LOAD_BUREAU_KEY=bureau,
            LOAD_ADMIN_KEY=admin,
            LOAD_GAP_LIST_IDS=json.dumps(list_ids),
            LOAD_QUERIES=json.dumps(QUERIES, ensure_ascii=False),
        )
        subprocess.run(
            [
                str(BIN / "locust"),
                "-f",
                str(Path(__file__).with_name("locustfile.py")),
                "--headless",
                "-u",
                str(args.users),
                "-r",
                str(args.users),
                "-t",
                args.duration,
                "--host",
                url,
                "--csv",
                str(LOAD_OUT / "locust"),
                "--only-summary",
                *(["Bureau"] if args.read_only else []),  # the user classes to run: bureaus only
            ],
            env=locust_env,
            check=False,
        )
        stop.set()
        sampler.join()

    print(
        f"\nload: {args.users} users for {args.duration} at {len(prepared.firms):,} firms, {args.workers} worker(s)"
    )
    with open(LOAD_OUT / "locust_stats.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    print(f"{'request':<46} {'count':>7} {'fail':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>6}")
    for row in rows:
        print(
            f"{row['Name']:<46} {row['Request Count']:>7} {row['Failure Count']:>5} {row['50%']:>7} "
            f"{row['95%']:>7} {row['99%']:>7} {float(row['Requests/s']):>6.1f}"
        )
    total = next(r for r in rows if r["Name"] == "Aggregated")
    errors = int(total["Failure Count"]) / max(1, int(total["Request Count"]))
    print(f"error rate: {errors:.4%}")
    first = samples[1] if len(samples) > 1 else samples[0]
    last = samples[-1]
    quarters = [samples[min(len(samples) - 1, round(q * (len(samples) - 1)))] for q in (0.25, 0.5, 0.75, 1.0)]
    trajectory = ", ".join(f"{t:.0f} s {rss:.0f} MB / {fds} fds" for t, rss, fds in quarters)
    ingested = (
        int(next((r["Request Count"] for r in rows if r["Name"].startswith("POST /v1/firms")), "0")) * 20
    )
    print(
        f"server RSS: {first[1]:.0f} MB after warm-up → {last[1]:.0f} MB at the end "
        f"(peak {max(x[1] for x in samples):.0f} MB) while {ingested:,} firms were ingested; "
        f"open files: {first[2]} → {last[2]} (max {max(x[2] for x in samples)})"
    )
    print(f"trajectory: {trajectory}")


if __name__ == "__main__":
    main()
