"""A prepared data dir and a real `chainmatch serve` process, shared by the HTTP benches.

Preparation goes through the CLI exactly as an operator would (import relations, import firms —
which builds and persists the index — create keys); a data dir prepared for the same firms file
is reused, since importing and indexing 100k firms takes minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
BIN = Path(sys.executable).parent


def chainmatch(data_dir: Path, *args: str) -> str:
    env = dict(os.environ, CHAINMATCH_DATA_DIR=str(data_dir))
    env.pop("CHAINMATCH_DATABASE_URL", None)
    result = subprocess.run([str(BIN / "chainmatch"), *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"chainmatch {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


@dataclass
class Prepared:
    data_dir: Path
    firms: list[dict]
    admin_key: str
    bureau_key: str  # 广东省

    def import_gap_lists(self, lists: list[dict], name: str) -> None:
        path = self.data_dir.parent / f"{name}.json"
        path.write_text(json.dumps(lists, ensure_ascii=False), encoding="utf-8")
        chainmatch(self.data_dir, "gaps", "import", str(path))


def prepare(firms_path: Path, relations_path: Path) -> Prepared:
    """A data dir with these firms and relations imported and indexed, plus fresh keys."""
    root = OUT / "serve" / firms_path.stem
    data_dir = root / "var"
    stamp = {
        "firms": str(firms_path.resolve()),
        "size": firms_path.stat().st_size,
        "mtime": firms_path.stat().st_mtime,
        "relations": str(relations_path.resolve()),
    }
    marker = root / "prepared.json"
    if not marker.exists() or json.loads(marker.read_text()) != stamp:
        if root.exists():
            shutil.rmtree(root)
        data_dir.mkdir(parents=True)
        started = time.perf_counter()
        # Relations first: each import rebuilds the index, and with no firms yet that is instant.
        chainmatch(data_dir, "import", "relations", str(relations_path))
        chainmatch(data_dir, "import", "firms", str(firms_path))
        print(
            f"prepared {data_dir} (import + index build): {time.perf_counter() - started:.0f} s", flush=True
        )
        marker.write_text(json.dumps(stamp))
    firms = [json.loads(line) for line in firms_path.open(encoding="utf-8")]
    admin = chainmatch(data_dir, "keys", "create", "--role", "admin").strip().splitlines()[-1]
    bureau = chainmatch(data_dir, "keys", "create", "--role", "bureau", "--province", "广东省")
    return Prepared(data_dir, firms, admin, bureau.strip().splitlines()[-1])


def guangdong_leader(firms: list[dict]) -> str:
    return str(next(f["id"] for f in firms if f.get("province") == "广东省" and f.get("products")))


@contextmanager
def scratch_copy(data_dir: Path, name: str) -> Iterator[Path]:
    """A throw-away copy of a prepared data dir, for runs that write (ingest, load): the prepared
    corpus stays as it is for the next run."""
    scratch = data_dir.parent / name
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(data_dir, scratch / "var")
    try:
        yield scratch / "var"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def served(
    data_dir: Path,
    *,
    port: int,
    workers: int = 1,
    log_name: str = "server.log",
    env: dict[str, str] | None = None,
    ready_timeout_s: float = 600,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`chainmatch serve` on ``port`` (rate limit off), ready when this yields (url, process);
    ``env`` adds or overrides settings (e.g. CHAINMATCH_SHARDS)."""
    server_env = dict(
        os.environ,
        CHAINMATCH_DATA_DIR=str(data_dir),
        CHAINMATCH_RATE_LIMIT_PER_MINUTE="0",
        CHAINMATCH_LOG_LEVEL="WARNING",
    )
    server_env.update(env or {})
    server_env.pop("CHAINMATCH_DATABASE_URL", None)
    log = open(data_dir.parent / log_name, "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [str(BIN / "chainmatch"), "serve", "--port", str(port), "--workers", str(workers)],
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"server exited, see {data_dir.parent / log_name}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > ready_timeout_s:
                raise RuntimeError(f"server not ready in {ready_timeout_s:.0f} s")
            time.sleep(0.5)
        print(f"server ready in {time.perf_counter() - started:.0f} s", flush=True)
        yield url, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
