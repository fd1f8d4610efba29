"""Shared fixtures: real SQLite files in temp dirs, a real uvicorn server over real HTTP."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from chainmatch.db import init_db, make_engine, session_scope
from chainmatch.gapfile import import_gap_lists
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import parse_records
from chainmatch.ingest.relations import ingest_relations
from chainmatch.keys import create_key
from chainmatch.settings import Settings
from models.apikey import Role

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "sample"
CHAINKG_DIR = Path(os.environ.get("CHAINMATCH_CHAINKG_DIR", REPO.parent / "shared" / "datasets" / "chainkg"))


# CI sets this: there every test must run. A test that would skip (no browser, no chainkg, a
# missing package) fails instead, so a green CI never hides a check that did not happen.
NO_SKIP = os.environ.get("CHAINMATCH_TEST_NO_SKIP") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but CHAINMATCH_TEST_NO_SKIP=1 forbids skips: {report.longrepr}"


def chainkg_path(name: str) -> Path:
    path = CHAINKG_DIR / name
    if not path.exists():
        pytest.skip(f"chainkg dataset not found at {CHAINKG_DIR}")
    return path


# With this set (CI does), every test database is a fresh PostgreSQL database on that server
# instead of a SQLite file: the whole suite runs against both.
POSTGRES_URL = os.environ.get("CHAINMATCH_TEST_POSTGRES_URL")


def fresh_database_url() -> str | None:
    if not POSTGRES_URL:
        return None
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"cm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    if "database_url" not in overrides:
        overrides["database_url"] = fresh_database_url()
    return Settings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]


def load_sample(settings: Settings) -> None:
    db = make_engine(settings)
    init_db(db)
    for name, ingest in (("firms.jsonl", ingest_firms), ("relations.jsonl", ingest_relations)):
        records, _ = parse_records((SAMPLE_DIR / name).read_bytes(), name=name)
        assert ingest(db, records).written
    assert import_gap_lists(db, SAMPLE_DIR / "gap_lists.json").written
    db.dispose()


@dataclass
class Keys:
    admin: str
    bureau_gd: str  # 广东省 bureau: the sample cluster's region
    bureau_js: str  # 江苏省 bureau: another region
    leader_a: str
    leader_b: str
    leader_a_firm: str
    leader_b_firm: str


def make_keys(settings: Settings, leader_a: str, leader_b: str) -> Keys:
    db = make_engine(settings)
    init_db(db)
    with session_scope(db) as session:
        out = Keys(
            admin=create_key(session, Role.ADMIN)[1],
            bureau_gd=create_key(session, Role.BUREAU, province="广东")[1],
            bureau_js=create_key(session, Role.BUREAU, province="江苏省")[1],
            leader_a=create_key(session, Role.LEADER, firm_id=leader_a)[1],
            leader_b=create_key(session, Role.LEADER, firm_id=leader_b)[1],
            leader_a_firm=leader_a,
            leader_b_firm=leader_b,
        )
    db.dispose()
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ErrorLog(logging.Handler):
    """Keeps the server's error records (with tracebacks), so a failing test can show them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class LiveServer:
    """The real app under uvicorn in a background thread, reached over real HTTP."""

    def __init__(self, settings: Settings) -> None:
        from api.main import create_app

        self.settings = settings
        self.errors = _ErrorLog()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        logging.getLogger().addHandler(self.errors)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        logging.getLogger().removeHandler(self.errors)

    def error_log(self) -> str:
        """What the server logged at ERROR or above so far (tracebacks included)."""
        return "\n".join(self.errors.lines)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "var")


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Keys]]:
    """A server over the sample cluster, shared by one test module (tests must not change it)."""
    settings = make_settings(tmp_path_factory.mktemp("sample") / "var")
    load_sample(settings)
    keys = make_keys(settings, *sample_leaders())
    with LiveServer(settings) as server:
        yield server, keys


def sample_leaders() -> tuple[str, str]:
    """Two leaders of the sample cluster that both have gap lists."""
    import json

    lists = json.loads((SAMPLE_DIR / "gap_lists.json").read_text(encoding="utf-8"))
    leaders = sorted({gl["leader_firm_id"] for gl in lists})
    return leaders[0], leaders[1]
