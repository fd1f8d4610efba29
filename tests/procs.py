"""Real server processes for crash and concurrency tests: `chainmatch serve` in a subprocess."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import free_port
from tests.worlds import fresh_database_url

CLI = shutil.which("chainmatch") or str(Path(sys.executable).with_name("chainmatch"))

PRODUCT_WORDS = (
    "分子泵",
    "离子源",
    "光电倍增管",
    "射频线圈",
    "精密光栅",
    "压电陶瓷",
    "微流控芯片",
    "高压电源",
)


def firm_record(n: int, *, rng: random.Random, tag: str = "T") -> dict[str, object]:
    """A synthetic firm with one common product and one unique, searchable one."""
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(6))
    return {
        "id": f"{tag}-{n:06d}",
        "name": f"测试企业{n}",
        "province": rng.choice(["广东省", "江苏省", "浙江省", "上海市"]),
        "products": [
            {"name": f"{code}型钛合金精密件", "share": 0.5},
            {"name": rng.choice(PRODUCT_WORDS), "share": 0.3},
        ],
    }


def unique_product(record: dict[str, object]) -> str:
    products = record["products"]
    assert isinstance(products, list)
    return str(products[0]["name"])


class ServerProcess:
    def __init__(self, data_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = dict(os.environ, CHAINMATCH_DATA_DIR=str(data_dir), **(env or {}))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180) -> ServerProcess:
        log = open(self.data_dir / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [CLI, "serve", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # kill -9 reaches the workers too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited: {(self.data_dir / f'server-{self.port}.log').read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server not ready in time")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = dict(os.environ, CHAINMATCH_DATA_DIR=str(data_dir), **(env or {}))
    result = subprocess.run([CLI, *args], env=full_env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(f"chainmatch {args} failed: {result.stderr[-2000:]}")
    return result.stdout


def seeded_registry(
    tmp_path: Path, rng: random.Random, n: int
) -> tuple[Path, dict[str, str], list[dict[str, object]], str]:
    """A data dir (and PostgreSQL database when testing on it) with ``n`` imported firms and an
    admin key: (data_dir, env, seed records, key)."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    db_url = fresh_database_url()
    env = {"CHAINMATCH_DATABASE_URL": db_url} if db_url else {}
    seed = [firm_record(i, rng=rng, tag="SEED") for i in range(n)]
    (tmp_path / "seed.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in seed), encoding="utf-8"
    )
    cli(data_dir, "import", "firms", str(tmp_path / "seed.jsonl"), env=env)
    key = cli(data_dir, "keys", "create", "--role", "admin", env=env).strip().splitlines()[-1]
    return data_dir, env, seed, key
