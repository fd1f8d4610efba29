"""The command line, run as a user runs it: the installed ``chainmatch`` script in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DIR, fresh_database_url

CLI = shutil.which("chainmatch") or str(Path(sys.executable).with_name("chainmatch"))


_DATABASES: dict[Path, str | None] = {}


def run(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CHAINMATCH_DATA_DIR=str(data_dir), COLUMNS="200")
    if data_dir not in _DATABASES:
        _DATABASES[data_dir] = fresh_database_url()
    if _DATABASES[data_dir]:
        env["CHAINMATCH_DATABASE_URL"] = str(_DATABASES[data_dir])
    result = subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"chainmatch {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_keys_create_prints_the_key_last_and_revoke(tmp_path: Path) -> None:
    out = run(tmp_path, "keys", "create", "--role", "admin")
    key = out.stdout.strip().splitlines()[-1]
    assert key.startswith("cm_") and len(key) > 40
    bad = run(tmp_path, "keys", "create", "--role", "bureau", check=False)
    assert bad.returncode == 2 and "省份" in bad.stderr
    listing = run(tmp_path, "keys", "list").stdout
    prefix = key.split("_")[1]
    assert prefix in listing and key.split("_", 2)[2] not in listing
    run(tmp_path, "keys", "revoke", prefix)
    assert run(tmp_path, "keys", "revoke", "nope", check=False).returncode == 1


def test_import_errors_exit_nonzero_and_write_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "A", "name": "好企业"}\n{"id": "B"}\n', encoding="utf-8")
    result = run(tmp_path / "var", "import", "firms", str(bad), check=False)
    assert result.returncode == 1
    assert "第2行" in result.stderr and "name" in result.stderr
    ok = run(tmp_path / "var", "import", "firms", str(bad), "--skip-invalid")
    assert "新增 1" in ok.stdout


@pytest.mark.slow
def test_demo_loads_the_sample_and_prints_explained_lists(tmp_path: Path) -> None:
    first = run(tmp_path, "demo", "--no-serve", "-k", "3")
    assert "招商目标" in first.stdout and "本地配套" in first.stdout
    assert first.stdout.count("薄弱环节") >= 20
    lines = first.stdout.splitlines()
    assert any(line.startswith("admin: cm_") for line in lines)
    again = run(tmp_path, "demo", "--no-serve", "-k", "3")
    assert "新增 0" in again.stdout  # idempotent

    # Keys do not pile up: the second run revoked the first run's keys.
    from chainmatch.db import make_engine, session_scope
    from chainmatch.keys import authenticate
    from chainmatch.settings import Settings

    def demo_key(out: str, role: str) -> str:
        return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith(f"{role}: cm_"))

    settings = Settings(data_dir=tmp_path, database_url=_DATABASES[tmp_path])  # type: ignore[arg-type]
    db = make_engine(settings)
    with session_scope(db) as session:
        for role in ("admin", "bureau"):
            assert authenticate(session, demo_key(first.stdout, role)) is None
            assert authenticate(session, demo_key(again.stdout, role)) is not None
    db.dispose()


def test_import_match_and_index_status(tmp_path: Path) -> None:
    run(tmp_path, "import", "firms", str(SAMPLE_DIR / "firms.jsonl"))
    run(tmp_path, "import", "relations", str(SAMPLE_DIR / "relations.jsonl"))
    status = json.loads(run(tmp_path, "index", "status").stdout)
    assert status["in_step"] is True and status["origin"] == "loaded"
    out = run(
        tmp_path, "match", "分子泵", "--region", "广东", "--scope", "inside", "-k", "5", "--json"
    ).stdout
    results = json.loads(out)["results"]
    assert 0 < len(results) <= 5 and all(r["province"] == "广东省" for r in results)
    assert run(tmp_path, "match", "分子泵", "--scope", "inside", check=False).returncode == 2
