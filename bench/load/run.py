"""Load benchmark: Locust (headless) against a local server at 100k firms.

20 users for 2 minutes by default, mixing bureau matches, gap-list recommendations and platform
ingests; samples the server's memory (RSS) and open files every 5 s. Prints the figures; the raw
Locust CSVs land in bench/out/load/.

    python -m bench.load.run [--firms bench/out/synth_100k.jsonl] [--users 20] [--duration 2m]

The 100k corpus comes from ``python bench/synth.py --n 100000 --out bench/out/synth_100k.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bench._data import chainkg_dir

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench" / "out" / "load"
BIN = Path(sys.executable).parent
QUERIES = ["分子泵", "离子源", "光电倍增管", "锂电池隔膜", "特种气体", "精密轴承", "电源模块", "传感器", "光学镜片",
           "碳纤维", "伺服电机", "PCB", "电解液", "高纯石英", "液压泵", "减速器", "硅片", "环氧树脂"]


def chainmatch(data_dir: Path, *args: str) -> str:
    env = dict(os.environ, CHAINMATCH_DATA_DIR=str(data_dir))
    return subprocess.run([str(BIN / "chainmatch"), *args], env=env, check=True, capture_output=True,
                          text=True).stdout


def proc_stats(pid: int) -> tuple[float, int]:
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    return rss_kb / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=Path, default=REPO / "bench" / "out" / "synth_100k.jsonl")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", default="2m")
    parser.add_argument("--port", type=int, default=8711)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data_dir = OUT / "var"

    started = time.perf_counter()
    chainmatch(data_dir, "import", "firms", str(args.firms))
    chainmatch(data_dir, "import", "relations", str(chainkg_dir() / "product_relations.jsonl"))
    print(f"setup (import + index): {time.perf_counter() - started:.0f} s")
    firms = [json.loads(line) for line in args.firms.open(encoding="utf-8")]
    leader = next(f for f in firms if f.get("province") == "广东省" and f.get("products"))
    lists = [{"leader_firm_id": leader["id"], "title": f"负载测试清单{i}",
              "items": [{"name": q} for q in QUERIES[i * 5:(i + 1) * 5]]} for i in range(3)]
    (OUT / "gap_lists.json").write_text(json.dumps(lists, ensure_ascii=False), encoding="utf-8")
    chainmatch(data_dir, "gaps", "import", str(OUT / "gap_lists.json"))
    admin = chainmatch(data_dir, "keys", "create", "--role", "admin").strip().splitlines()[-1]
    bureau = chainmatch(data_dir, "keys", "create", "--role", "bureau", "--province", "广东省").strip().splitlines()[-1]

    env = dict(os.environ, CHAINMATCH_DATA_DIR=str(data_dir), CHAINMATCH_RATE_LIMIT_PER_MINUTE="0",
               CHAINMATCH_LOG_LEVEL="WARNING")
    server = subprocess.Popen([str(BIN / "chainmatch"), "serve", "--port", str(args.port)], env=env,
                              stdout=open(OUT / "server.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        list_ids = [gl["id"] for gl in httpx.get(f"{url}/v1/gap-lists", headers={"X-API-Key": bureau}).json()["items"]]
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
        locust_env = dict(os.environ, LOAD_BUREAU_KEY=bureau, LOAD_ADMIN_KEY=admin,
                          LOAD_GAP_LIST_IDS=json.dumps(list_ids), LOAD_QUERIES=json.dumps(QUERIES, ensure_ascii=False))
        subprocess.run([str(BIN / "locust"), "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
                        "-u", str(args.users), "-r", str(args.users), "-t", args.duration, "--host", url,
                        "--csv", str(OUT / "locust"), "--only-summary"], env=locust_env, check=False)
        stop.set()
        sampler.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    print(f"\nload: {args.users} users for {args.duration} at {len(firms):,} firms")
    import csv

    with open(OUT / "locust_stats.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    print(f"{'request':<46} {'count':>7} {'fail':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>6}")
    for row in rows:
        print(f"{row['Name']:<46} {row['Request Count']:>7} {row['Failure Count']:>5} {row['50%']:>7} "
              f"{row['95%']:>7} {row['99%']:>7} {float(row['Requests/s']):>6.1f}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    errors = int(total["Failure Count"]) / max(1, int(total["Request Count"]))
    print(f"error rate: {errors:.4%}")
    first, last = samples[1] if len(samples) > 1 else samples[0], samples[-1]
    peak = max(s[1] for s in samples)
    print(f"server RSS: {first[1]:.0f} MB after warm-up → {last[1]:.0f} MB at the end (peak {peak:.0f} MB); "
          f"open files: {first[2]} → {last[2]} (max {max(s[2] for s in samples)})")


if __name__ == "__main__":
    main()
