"""A serving index service moves its loaded engine to the collector's permanent generation, and
gives it back before an engine is replaced, so that the old engine's cycles are still collected."""

from __future__ import annotations

import gc
import random
import weakref
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from chainmatch import heapfreeze, indexing
from chainmatch.indexing import IndexService
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import ParsedRecord
from chainmatch.settings import Settings
from tests.procs import firm_record


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Whatever a test freezes is handed back to the collector afterwards."""
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_small_engines_leave_the_collector_alone(unfrozen: None) -> None:
    assert not heapfreeze.settle(heapfreeze.MIN_FIRMS - 1)
    assert gc.get_freeze_count() == 0


def test_frozen_cycles_are_collected_once_released(unfrozen: None) -> None:
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    assert heapfreeze.settle(heapfreeze.MIN_FIRMS)
    assert gc.get_freeze_count() > 0
    del a, b  # a cycle: only the collector frees it
    gc.collect()
    assert gone() is not None, "frozen: a full collection does not walk it"
    heapfreeze.release()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None


def test_serving_service_freezes_after_catch_up_and_releases_the_replaced_engine(
    settings: Settings, db: Engine, unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heapfreeze, "MIN_FIRMS", 1)
    rng = random.Random(3)
    records = [firm_record(i, rng=rng, tag="A") for i in range(30)]
    assert ingest_firms(db, [ParsedRecord(i + 1, r) for i, r in enumerate(records)]).written
    one_shot = IndexService(settings, db)  # the CLI: its process ends, nothing to freeze for
    one_shot.start()
    assert gc.get_freeze_count() == 0
    service = IndexService(settings, db, serving=True)
    service.start()
    assert gc.get_freeze_count() > 0
    with service.searching() as engine:
        old = weakref.ref(engine)
    more = [firm_record(i, rng=rng, tag="B") for i in range(30, 35)]
    assert ingest_firms(db, [ParsedRecord(i + 1, r) for i, r in enumerate(more)]).written
    service.refresh(checkpoint=True)
    assert gc.get_freeze_count() > 0, "a catch-up settles again"
    with service.searching() as engine:
        probe = Node()  # a cycle owned by the old engine: only the collector frees it
        probe.other = Node()
        probe.other.other = probe
        engine.probe = probe  # type: ignore[attr-defined]
        cycle = weakref.ref(probe)
        del probe, engine  # held only by the service now
    heapfreeze.settle(heapfreeze.MIN_FIRMS)
    service.rebuild()
    with service.searching() as engine:
        assert engine is not old() and engine.n_firms == 35
    assert old() is None and cycle() is None, "the replaced engine was released and collected"


def test_a_checkpoint_collects_cycles_frozen_by_earlier_catch_ups(
    settings: Settings, db: Engine, unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heapfreeze, "MIN_FIRMS", 1)
    monkeypatch.setattr(indexing, "CHECKPOINT_MIN_CHANGES", 10)
    rng = random.Random(5)
    records = [firm_record(i, rng=rng, tag="A") for i in range(20)]
    assert ingest_firms(db, [ParsedRecord(i + 1, r) for i, r in enumerate(records)]).written
    service = IndexService(settings, db, serving=True)
    service.start()
    a, b = Node(), Node()  # held by a request while a catch-up settled: frozen with it
    a.other, b.other = b, a
    cycle = weakref.ref(a)
    heapfreeze.settle(heapfreeze.MIN_FIRMS)
    del a, b
    few = [firm_record(i, rng=rng, tag="B") for i in range(20, 22)]
    assert ingest_firms(db, [ParsedRecord(i + 1, r) for i, r in enumerate(few)]).written
    service.refresh(checkpoint=True)  # 2 changes: no checkpoint, the cycle stays frozen
    assert cycle() is not None
    more = [firm_record(i, rng=rng, tag="C") for i in range(22, 34)]
    assert ingest_firms(db, [ParsedRecord(i + 1, r) for i, r in enumerate(more)]).written
    service.refresh(checkpoint=True)  # 14 changes since the save: a checkpoint
    assert cycle() is None
    assert gc.get_freeze_count() > 0, "settled again after it"
