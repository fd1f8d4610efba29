"""Shared fixtures: real SQLite files in temp dirs (or PostgreSQL databases), the real app served in
process or under uvicorn. Test data and worlds: tests/worlds.py; the two ways to serve: tests/servers.py.

``world`` is one module-scoped fixture for every module that needs a running app over the sample
cluster; a module chooses what it holds with ``pytestmark = pytest.mark.world(chain=..., live=...,
<settings>=...)`` (default: the sample without its chain, served in process)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from chainmatch.db import init_db, make_engine
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import parse_records
from chainmatch.ingest.relations import ingest_relations
from chainmatch.settings import Settings
from tests.servers import InProcessServer, LiveServer, free_port
from tests.worlds import (
    REPO,
    SAMPLE_DIR,
    Keys,
    LiveWorld,
    World,
    fresh_database_url,
    load_sample,
    make_keys,
    make_settings,
    module_world,
    sample_leaders,
)

__all__ = [
    "CHAINKG_DIR",
    "NO_SKIP",
    "REPO",
    "SAMPLE_DIR",
    "InProcessServer",
    "Keys",
    "LiveServer",
    "LiveWorld",
    "World",
    "chainkg_path",
    "chainkg_settings",
    "free_port",
    "fresh_database_url",
    "load_sample",
    "make_keys",
    "make_settings",
    "sample_leaders",
]

CHAINKG_DIR = Path(os.environ.get("CHAINMATCH_CHAINKG_DIR", REPO.parent / "shared" / "datasets" / "chainkg"))

# CI sets this: there every test must run. A test that would skip (no browser, no chainkg, a
# missing package) fails instead, so a green CI never hides a check that did not happen.
NO_SKIP = os.environ.get("CHAINMATCH_TEST_NO_SKIP") == "1"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but CHAINMATCH_TEST_NO_SKIP=1 forbids skips: {report.longrepr}"
    return report


def chainkg_path(name: str) -> Path:
    path = CHAINKG_DIR / name
    if not path.exists():
        pytest.skip(f"chainkg dataset not found at {CHAINKG_DIR}")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "var")


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    """A migrated, empty database for ``settings``."""
    engine = make_engine(settings)
    init_db(engine)
    yield engine
    engine.dispose()


def chainkg_settings(data_dir: Path) -> Settings:
    """Settings over a database holding the whole chainkg corpus (firms and product relations)."""
    firms, relations = chainkg_path("firms.jsonl"), chainkg_path("product_relations.jsonl")
    settings = make_settings(data_dir)
    engine = make_engine(settings)
    init_db(engine)
    assert ingest_firms(engine, parse_records(firms.read_bytes(), name=firms.name)[0]).written
    assert ingest_relations(engine, parse_records(relations.read_bytes(), name=relations.name)[0]).written
    engine.dispose()
    return settings


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The sample cluster served for one test module, with keys for every role; options from the
    module's ``pytest.mark.world``. Tests of a module share it: what one writes, the next sees."""
    yield from module_world(request, tmp_path_factory)
