"""The index service over a real database: catch-up, checkpoints, background rebuilds, restarts."""

from __future__ import annotations

import random

from sqlalchemy.engine import Engine

from chainmatch.indexing import CHECKPOINT_MIN_CHANGES, IndexService, engine_config
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import ParsedRecord
from chainmatch.settings import Settings
from recommender.corpus import MatchQuery
from recommender.engine import Recommender
from tests.procs import firm_record, unique_product


def ingest(db: Engine, records: list[dict[str, object]]) -> None:
    report = ingest_firms(db, [ParsedRecord(i + 1, r) for i, r in enumerate(records)])
    assert report.written, report.errors


def persisted_firms(settings: Settings) -> int:
    return Recommender.load(settings.index_dir, engine_config(settings)).n_firms


def test_writes_are_caught_up_at_once_and_saved_only_at_checkpoints(settings: Settings, db: Engine) -> None:
    rng = random.Random(1)
    ingest(db, [firm_record(i, rng=rng, tag="A") for i in range(200)])
    service = IndexService(settings, db, serving=True)
    service.start()
    assert persisted_firms(settings) == 200

    batch = [firm_record(i, rng=rng, tag="B") for i in range(20)]
    ingest(db, batch)
    service.refresh(checkpoint=True)
    with service.searching() as engine:
        hits = engine.match(MatchQuery(text=unique_product(batch[3]), k=3))
    assert hits and hits[0].firm.id == batch[3]["id"]
    assert persisted_firms(settings) == 200, "20 changes are below the checkpoint: not saved yet"

    service.flush()  # what the service does at shutdown
    assert persisted_firms(settings) == 220
    restarted = IndexService(settings, db)
    restarted.start()
    assert restarted.origin == "loaded" and restarted.status()["in_step"]
    assert CHECKPOINT_MIN_CHANGES > 20


def test_large_churn_rebuilds_in_the_background_while_the_old_engine_serves(
    settings: Settings, db: Engine
) -> None:
    rng = random.Random(2)
    ingest(db, [firm_record(i, rng=rng, tag="A") for i in range(120)])
    service = IndexService(settings, db, serving=True)
    service.start()
    with service.searching() as engine:
        first_engine = engine

    churn = [firm_record(i, rng=rng, tag="C") for i in range(60)]  # 50% > REBUILD_FRACTION
    ingest(db, churn)
    service.refresh()
    with service.searching() as engine:
        assert engine is first_engine, "the old engine keeps serving, caught up incrementally"
        assert engine.get_firm(churn[-1]["id"]) is not None
    # Firms written while the rebuild runs reach the new engine through its catch-up.
    late = [firm_record(i, rng=rng, tag="L") for i in range(5)]
    ingest(db, late)
    assert service._background is not None
    service._background.join(timeout=120)
    with service.searching() as engine:
        assert engine is not first_engine and service.origin in ("rebuilt", "caught-up")
        assert engine.n_firms == 120 + 60 + 5
        hits = engine.match(MatchQuery(text=unique_product(late[2]), k=3))
        assert hits and hits[0].firm.id == late[2]["id"]
    assert service.status()["in_step"]


def test_a_one_shot_command_rebuilds_in_the_foreground(settings: Settings, db: Engine) -> None:
    rng = random.Random(3)
    ingest(db, [firm_record(i, rng=rng, tag="A") for i in range(100)])
    IndexService(settings, db).start()
    ingest(db, [firm_record(i, rng=rng, tag="D") for i in range(80)])
    cli_like = IndexService(settings, db)
    cli_like.start()
    assert cli_like.origin == "rebuilt" and cli_like._background is None
    assert persisted_firms(settings) == 180


def test_a_write_caught_up_in_the_background_is_seen_by_the_next_search(
    settings: Settings, db: Engine
) -> None:
    rng = random.Random(4)
    ingest(db, [firm_record(i, rng=rng, tag="A") for i in range(100)])
    service = IndexService(settings, db, serving=True)
    service.start()
    batches = [[firm_record(i, rng=rng, tag=f"S{b}") for i in range(10)] for b in range(3)]
    for batch in batches:  # as POST /v1/firms does: answer after the commit, catch up soon
        ingest(db, batch)
        service.refresh_soon()
    # A search right away waits for (or does) the catch-up: it never misses a committed write.
    with service.searching() as engine:
        hits = engine.match(MatchQuery(text=unique_product(batches[-1][7]), k=3))
        assert hits and hits[0].firm.id == batches[-1][7]["id"]
        assert engine.n_firms == 130
    service.wait_idle(timeout=60)
    assert service._soon_thread is None and service.status()["in_step"]
