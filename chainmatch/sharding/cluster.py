"""Everything that touches Ray: joining or starting the cluster, the shard actors, the build
tasks, and turning Ray's failures into :class:`ShardUnavailable`. Imported only when SHARDS > 1."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from chainmatch.errors import ShardUnavailable
from chainmatch.settings import Settings
from chainmatch.sharding.shard import ShardServer, build_shard, fit_corpus_statistics
from chainmatch.sharding.state import ShardState
from recommender.errors import RecommenderError

logger = logging.getLogger(__name__)

NAMESPACE = "chainmatch"
# A query waits this long for every shard; a shard slower than that (dead, restarting, stuck)
# makes the answer a 503, never a partial list.
QUERY_TIMEOUT_S = 10.0
# Seconds a client is told to wait (Retry-After): a restarted shard reloads its saved index in
# seconds and is then caught up from the database.
RETRY_AFTER_S = 5
# Loading or building one shard (a restart, a catch-up from an old save, a full build).
BUILD_TIMEOUT_S = 3600.0
# Queries and updates a shard actor serves at once (a build or a checkpoint never blocks queries).
SHARD_CONCURRENCY = 8


class _PlacedShardServer(ShardServer):
    def node_id(self) -> str:
        """The Ray node this actor runs on (where its shard's builds should run)."""
        return str(ray.get_runtime_context().get_node_id())


def _build_on_node(
    settings: Settings,
    shard: int,
    n_shards: int,
    state: ShardState,
    statistics: Any,
    node_id: str,
    directory: str,
) -> Any:
    """Build task: saved straight beside the actor's ``directory`` when it runs on the actor's
    node ``node_id``; elsewhere (that node had no free CPU) the index travels as bytes."""
    here = ray.get_runtime_context().get_node_id() == node_id
    return build_shard(settings, shard, n_shards, state, statistics, into=directory if here else None)


_ShardActor = ray.remote(_PlacedShardServer)
# A build task's worker exits when its task is done (max_calls=1): fitting the statistics over
# every firm or building a shard leaves gigabytes in the worker's heap, which an idle worker kept
# for the life of the cluster (measured at 100k firms, 4 shards: two idle workers held 2.2 and
# 2.8 GB after the build, more than the four shard actors' firms together).
BUILD_TASK_MAX_CALLS = 1
_fit_task = ray.remote(max_calls=BUILD_TASK_MAX_CALLS)(fit_corpus_statistics)
_build_task = ray.remote(max_calls=BUILD_TASK_MAX_CALLS)(_build_on_node)


class RayCluster:
    """The Ray connection of one API process and the shard actors it owns."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._started_here = False

    def connect(self) -> None:
        if ray.is_initialized():  # a driver that joined already (the tests' cluster)
            return
        if self.settings.ray_address:
            ray.init(address=self.settings.ray_address, namespace=NAMESPACE, logging_level=logging.WARNING)
            logger.info("joined the Ray cluster at %s", self.settings.ray_address)
        else:
            ray.init(
                num_cpus=os.cpu_count() or 1,
                include_dashboard=False,
                namespace=NAMESPACE,
                logging_level=logging.WARNING,
            )
            logger.info("started a local Ray for %d shards", self.settings.shards)
        self._started_here = True

    def shutdown(self) -> None:
        if self._started_here and ray.is_initialized():
            ray.shutdown()
            self._started_here = False

    def shard_actors(self, directories: Sequence[str]) -> list[Any]:
        """One actor per shard, spread over the nodes; Ray restarts a dead one (it reloads its
        directory). Calls are not retried: a caller gets the failure and answers 503."""
        n = len(directories)
        return [
            _ShardActor.options(
                max_restarts=-1,
                max_task_retries=0,
                max_concurrency=SHARD_CONCURRENCY,
                num_cpus=0,
                scheduling_strategy="SPREAD",
            ).remote(i, n, directory, self.settings)
            for i, directory in enumerate(directories)
        ]

    def fit_statistics(self) -> Any:
        """An object ref of the corpus statistics (fitted by a task somewhere in the cluster)."""
        return _fit_task.options(num_cpus=1).remote(self.settings)

    def build(
        self, shard: int, n_shards: int, state: ShardState, statistics: Any, actor: Any, directory: str
    ) -> Any:
        """An object ref of one shard's built index, by a task on ``actor``'s node if it has a
        free CPU (the index is then saved straight beside ``directory``: no bytes through the
        object store, whose pages an actor that receives them keeps resident), else anywhere."""
        node_id = fetch(actor.node_id.remote(), timeout=BUILD_TIMEOUT_S)
        strategy = NodeAffinitySchedulingStrategy(node_id=node_id, soft=True)
        return _build_task.options(num_cpus=1, scheduling_strategy=strategy).remote(
            self.settings, shard, n_shards, state, statistics, node_id, directory
        )


def wait_all(refs: Sequence[Any], timeout: float = BUILD_TIMEOUT_S) -> None:
    """Wait until every task is done, without fetching the results here."""
    ray.wait(list(refs), num_returns=len(refs), timeout=timeout, fetch_local=False)


def fetch(refs: Any, timeout: float = QUERY_TIMEOUT_S) -> Any:
    """``ray.get``, with a shard's failure as :class:`ShardUnavailable` and the engine's own errors
    (an invalid query …) re-raised as they are."""
    try:
        return ray.get(refs, timeout=timeout)
    except RayTaskError as exc:
        if isinstance(exc.cause, RecommenderError):
            raise exc.cause from None
        raise
    except (GetTimeoutError, RayError) as exc:
        logger.warning("a shard did not answer: %s", type(exc).__name__)
        raise unavailable(
            "检索分片暂时不可用，请稍后重试 (a search shard is restarting; retry shortly)"
        ) from exc


def unavailable(message: str) -> ShardUnavailable:
    return ShardUnavailable(message, retry_after=RETRY_AFTER_S)


def get_object(ref: Any) -> Any:
    return ray.get(ref)


def put_object(value: Any) -> Any:
    return ray.put(value)
