"""Sharded serving on Ray (issue 11), tested on a real Ray cluster of three nodes on this machine
(``ray.cluster_utils.Cluster``): shard placement and merging, sharded answers against the
in-process engine's, a shard actor killed under load over real HTTP, and SHARDS=1 without Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chainmatch.db import make_engine
from chainmatch.errors import ShardUnavailable
from chainmatch.indexing import IndexService
from chainmatch.sharding.merge import ShardList, merge_lists, sme_bonus
from chainmatch.sharding.placement import partition, shard_of
from chainmatch.sharding.shard import statistics_supported
from recommender.corpus import FirmDoc, FirmMatch, MatchQuery, Region, Scope
from recommender.errors import InvalidQuery, RegionRequired
from tests.servers import LiveServer
from tests.worlds import REPO, SAMPLE_DIR, load_sample, make_keys, make_settings, sample_leaders

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from chainmatch.sharding.service import ShardedIndexService  # noqa: E402

GLOBAL_STATISTICS = pytest.mark.xfail(
    not statistics_supported(),
    reason="the engine has no fit_statistics yet: each shard fits its own statistics (approximate)",
    strict=True,
)


# ---------------------------------------------------------------------------- without Ray
def test_placement_is_a_stable_hash_of_the_id() -> None:
    assert shard_of("AH-0001", 3) == shard_of("AH-0001", 3)
    assert shard_of("AH-0001", 1_000_000) == 4_287_818_239 % 1_000_000  # crc32, not hash()
    parts = partition([f"F{i:05d}" for i in range(3000)], lambda i: i, 3)
    assert sorted(x for p in parts for x in p) == [f"F{i:05d}" for i in range(3000)]
    assert all(900 < len(p) < 1100 for p in parts)


def _match(firm_id: str, score: float, scale: str = "large", sme_boost: float = 0.0) -> FirmMatch:
    """A match as a shard returns it (with the engine's ordering fields where it has them)."""
    match = FirmMatch(firm=FirmDoc(id=firm_id, name=firm_id, scale=scale), score=score)
    if hasattr(match, "rank_score"):
        match.relevance = score
        match.rank_score = score + sme_boost * sme_bonus(match.firm)
    return match


def test_merge_orders_by_score_then_id_and_cuts_to_k() -> None:
    a = ShardList([_match("B", 0.9), _match("D", 0.5)], guessed=False)
    b = ShardList([_match("A", 0.5), _match("C", 0.7)], guessed=False)
    assert [m.firm.id for m in merge_lists([a, b], 3, sme_boost=0.0)] == ["B", "C", "A"]


def test_merge_adds_the_sme_bonus_on_local_lists() -> None:
    for boost, order in ((0.04, ["S", "L"]), (0.0, ["L", "S"])):  # 0.59 + 0.04 * 0.5 > 0.60
        a = ShardList([_match("L", 0.60, "large", boost)], guessed=False)
        b = ShardList([_match("S", 0.59, "small", boost)], guessed=False)
        assert [m.firm.id for m in merge_lists([a, b], 2, sme_boost=boost)] == order


def test_merge_drops_a_shards_guesses_when_another_has_relevant_firms() -> None:
    relevant = ShardList([_match("R", 0.3)], guessed=False)
    guesses = ShardList([_match("G1", 0.09), _match("G2", 0.08)], guessed=True)
    assert [m.firm.id for m in merge_lists([guesses, relevant], 10, sme_boost=0.0)] == ["R"]
    more = ShardList([_match(f"H{i}", 0.05 - i / 100) for i in range(4)], guessed=True)
    # no shard has a relevant firm: the best five guesses of all shards
    assert [m.firm.id for m in merge_lists([guesses, more], 10, sme_boost=0.0)] == [
        "G1",
        "G2",
        "H0",
        "H1",
        "H2",
    ]


# ---------------------------------------------------------------------------- a Ray cluster
@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Cluster]:
    """A head and two worker nodes, one CPU and a 100 MB object store each; this process joins."""
    node = {"num_cpus": 1, "object_store_memory": 100 * 1024 * 1024, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=node)
    for _ in range(2):
        cluster.add_node(num_cpus=1, object_store_memory=100 * 1024 * 1024)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="chainmatch", logging_level="WARNING")
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def sample_queries() -> list[MatchQuery]:
    """Every weak link of the sample's gap lists, as the catalog name and as the leader's text."""
    queries = []
    for gap_list in json.loads((SAMPLE_DIR / "gap_lists.json").read_text(encoding="utf-8")):
        region = Region(province=gap_list["region"]["province"], city=gap_list["region"]["city"])
        for item in gap_list["items"]:
            common = {"region": region, "k": 10, "leader_firm_id": gap_list["leader_firm_id"]}
            queries.append(MatchQuery(text=item["name"], for_product=item.get("for_product"), **common))
            free_text = f"{item.get('description') or ''}{item['name']}"
            queries.append(MatchQuery(text=free_text[:200], **common))
    return queries


def answers(index: IndexService, queries: list[MatchQuery]) -> list[list[str]]:
    out = []
    with index.searching() as engine:
        for q in queries:
            targets, local = engine.recommend(q)
            out += [[m.firm.id for m in targets], [m.firm.id for m in local]]
            out.append(
                [m.firm.id for m in engine.match(MatchQuery(text=q.text, region=q.region, scope=Scope.ALL))]
            )
    return out


@pytest.fixture(scope="module")
def sample_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[list[str]]]:
    """The sample in a database, and the in-process engine's answers to every sample query."""
    settings = make_settings(tmp_path_factory.mktemp("sharded") / "var")
    load_sample(settings)
    single = IndexService(settings, make_engine(settings))
    single.start()
    return settings, answers(single, sample_queries())


def identical_share(a: list[list[str]], b: list[list[str]]) -> float:
    assert len(a) == len(b)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


@contextmanager
def sharded(settings: Any, n_shards: int) -> Iterator[ShardedIndexService]:
    service = ShardedIndexService(settings.model_copy(update={"shards": n_shards}), make_engine(settings))
    service.start()
    try:
        yield service
    finally:
        stop_actors(service)


def stop_actors(service: ShardedIndexService) -> None:
    for actor in service.actors:
        ray.kill(actor, no_restart=True)


def test_one_shard_on_ray_answers_as_the_engine_in_process(ray_cluster: Cluster, sample_dirs: Any) -> None:
    """The whole path (build task, actor, fan-out, merge, catch-up) with nothing to approximate."""
    settings, expected = sample_dirs
    with sharded(settings, 1) as service:
        assert identical_share(answers(service, sample_queries()), expected) == 1.0


@GLOBAL_STATISTICS
def test_three_shards_answer_as_one_engine_on_the_sample(ray_cluster: Cluster, sample_dirs: Any) -> None:
    settings, expected = sample_dirs
    with sharded(settings, 3) as service:
        assert len({ray.get(a.memory.remote())["pid"] for a in service.actors}) == 3
        assert identical_share(answers(service, sample_queries()), expected) >= 0.99
        # a batch: both rounds asked of every shard once for all queries, each answer the single
        # call's; the queries the engine refuses get their own error, the others their lists
        queries = [replace(q, scope=scope) for q in sample_queries()[:30] for scope in Scope]
        refused = [MatchQuery(text="  ", k=10), MatchQuery(text="真空泵", scope=Scope.OUTSIDE, k=10)]
        with service.searching() as engine:
            batch = engine.match_many([*queries[:7], *refused, *queries[7:]])
            singles = [engine.match(q) for q in queries]
        assert isinstance(batch[7], InvalidQuery) and isinstance(batch[8], RegionRequired)
        got = [[m.firm.id for m in answer] for answer in [*batch[:7], *batch[9:]]]  # type: ignore[union-attr]
        assert got == [[m.firm.id for m in answer] for answer in singles]
        assert sum(map(len, got)) > 300


@GLOBAL_STATISTICS
def test_a_shard_is_built_beside_its_actor_and_swapped_in_not_sent_as_bytes(
    ray_cluster: Cluster, sample_dirs: Any
) -> None:
    """The build task runs on the actor's node and saves the index beside the actor's directory:
    what comes back is a path, not the index's bytes (which, sent through the object store, stayed
    resident in the actor: ≈ 240 MB per 25k-firm shard at 100k firms)."""
    settings, expected = sample_dirs
    with sharded(settings, 3) as service:
        assert service.target is not None
        shard_dir = Path(service.directories[1])
        ref = service.cluster.build(
            1, 3, service.target, service._statistics, service.actors[1], str(shard_dir)
        )
        staged = ray.get(ref)
        assert isinstance(staged, str) and Path(staged).parent == shard_dir.parent and Path(staged).is_dir()
        ray.get(service.actors[1].install.remote(staged, service.target))
        assert not Path(staged).exists() and (shard_dir / "manifest.json").is_file()
        assert identical_share(answers(service, sample_queries()), expected) >= 0.99


def idle_workers_rss_mb(cluster: Cluster) -> list[float]:
    """Resident MB of every idle worker of the test cluster (the raylets' children named
    ``ray::IDLE``; shard actors are named after their class)."""
    from ray._private.ray_constants import PROCESS_TYPE_RAYLET

    raylets = {node.all_processes[PROCESS_TYPE_RAYLET][0].process.pid for node in cluster.list_all_nodes()}
    sizes = []
    for proc in Path("/proc").iterdir():
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent not in raylets or not (proc / "cmdline").read_bytes().startswith(b"ray::IDLE"):
                continue
            status = (proc / "status").read_text()
        except (OSError, ValueError):  # not a process, or gone meanwhile
            continue
        sizes += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")]
    return sizes


def test_build_workers_exit_after_the_build(ray_cluster: Cluster, sample_dirs: Any) -> None:
    """The workers that fitted the statistics and built the shards do not stay behind holding the
    engine (an idle worker that imported it holds ~0.6 GB at sample size, gigabytes at 100k firms;
    a fresh idle worker, ~0.1 GB)."""
    settings, _ = sample_dirs
    with sharded(settings, 3):
        deadline = time.monotonic() + 30
        while (held := [mb for mb in idle_workers_rss_mb(ray_cluster) if mb > 300]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.5)
        assert held == []


def test_shards_follow_writes_and_a_restarted_shard_catches_up(ray_cluster: Cluster, tmp_path: Path) -> None:
    """A firm written after the build is indexed on its shard; a shard killed and restarted from
    its saved index (which predates the firm) is caught up before it answers. (With frozen corpus
    statistics a product name new to the corpus is not in the parser's catalogue until the next
    full build, so the check reads the shard's product index, not a ranking.)"""
    settings = make_settings(tmp_path / "var", shards=3)
    load_sample(settings)
    with sharded(settings, 3) as service:
        _follow_writes_and_restart(service, settings)


def _follow_writes_and_restart(service: ShardedIndexService, settings: Any) -> None:
    new = {"id": "ZZ-9999", "name": "新进企业", "province": "广东省", "products": [{"name": "钽酸锂晶片"}]}
    from chainmatch.ingest.firms import ingest_firms
    from chainmatch.ingest.readers import parse_records

    records, _ = parse_records(json.dumps(new, ensure_ascii=False).encode(), name="new.jsonl")
    assert ingest_firms(make_engine(settings), records).written
    with service.searching() as engine:
        assert engine.n_firms == 355 and engine.product_makers("钽酸锂晶片") == {"ZZ-9999": None}
    owner = service.actors[shard_of("ZZ-9999", 3)]
    ray.kill(owner, no_restart=False)
    deadline = time.monotonic() + 120
    while True:
        try:
            with service.searching() as engine:
                found = engine.get_firm("ZZ-9999")
            break
        except ShardUnavailable:  # while it restarts
            assert time.monotonic() < deadline
            time.sleep(0.5)
    assert found is not None and found.name == "新进企业"


def test_a_shard_killed_under_load_gives_complete_answers_or_503(
    ray_cluster: Cluster, tmp_path: Path
) -> None:
    # rate limit off: the load and the batches are one key's calls, and 429 is not under test
    settings = make_settings(
        tmp_path / "var", shards=3, ray_address=ray_cluster.address, rate_limit_per_minute=0
    )
    load_sample(settings)
    keys = make_keys(settings, *sample_leaders())
    bodies = [
        {"text": q.text, "region": q.region.province if q.region else None, "k": 10}
        for q in sample_queries()[:12]
    ]
    with LiveServer(settings) as server, server.client(keys.admin) as http:
        expected = [http.post("/v1/match", json=b).json()["results"] for b in bodies]
        batch = {"queries": [{"id": str(i), **b} for i, b in enumerate(bodies)]}
        assert_batch_lines(http.post("/v1/match/batch", json=batch), expected, allow_503=False)
        seen: list[tuple[int, str | None, Any]] = []
        stop = threading.Event()

        def load() -> None:
            with server.client(keys.admin) as client:
                i = 0
                while not stop.is_set():
                    b = bodies[i % len(bodies)]
                    r = client.post("/v1/match", json=b)
                    seen.append((r.status_code, r.headers.get("retry-after"), (i % len(bodies), r.json())))
                    i += 1

        workers = [threading.Thread(target=load) for _ in range(3)]
        for w in workers:
            w.start()
        time.sleep(1.0)
        service = server.server.config.app.state.index  # type: ignore[union-attr]
        ray.kill(service.actors[1], no_restart=False)
        time.sleep(0.5)
        # a batch while the shard restarts: each query answered whole or its own 503 line
        assert_batch_lines(http.post("/v1/match/batch", json=batch), expected, allow_503=True)
        time.sleep(7.5)
        stop.set()
        for w in workers:
            w.join(timeout=60)
        statuses = {s for s, _, _ in seen}
        assert statuses <= {200, 503}, statuses
        for status, retry_after, (i, body) in seen:
            if status == 503:
                assert retry_after is not None and int(retry_after) > 0
            else:
                assert body["results"] == expected[i]  # complete, never a shard short
        deadline = time.monotonic() + 120
        while http.post("/v1/match", json=bodies[0]).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert [http.post("/v1/match", json=b).json()["results"] for b in bodies] == expected
        assert len(seen) > 20
        stop_actors(service)


def assert_batch_lines(response: Any, expected: list[Any], *, allow_503: bool) -> None:
    """A batch's NDJSON: one line per query in order, each the single call's results (or, where
    allowed, a 503 line), then a trailer that counts the errors."""
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    *answers, trailer = lines
    assert [a["id"] for a in answers] == [str(i) for i in range(len(expected))]
    for answer, results in zip(answers, expected, strict=True):
        if answer["status"] == 503 and allow_503:
            assert answer["error"]
        else:
            assert answer["status"] == 200 and answer["results"] == results
    errors = sum(a["status"] != 200 for a in answers)
    assert trailer == {
        "done": True,
        "queries": len(expected),
        "answered": len(expected) - errors,
        "errors": errors,
    }


def test_with_one_shard_ray_is_not_imported(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from api.main import create_app\n"
        "from chainmatch.settings import Settings\n"
        f"app = create_app(Settings(data_dir={str(tmp_path / 'var')!r}))\n"
        "with TestClient(app) as client:\n"
        "    assert client.get('/readyz').status_code == 200\n"
        "assert 'ray' not in sys.modules, 'ray imported'\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINMATCH_")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]
