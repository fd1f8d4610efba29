"""What a shard holds, as one comparable value: a query names the state it expects, and a shard
in another state answers with its own instead, so the coordinator catches it up first."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True, slots=True)
class ShardState:
    build_id: str  # the full build (and its corpus statistics) the shard's index belongs to
    instance: str  # the database's instance id
    relations_revision: int
    revision: int  # the corpus revision the shard's firms are current with
    aliases_revision: int | None  # the user aliases loaded; None: none yet (not persisted)

    def dumps(self) -> str:
        return json.dumps(asdict(replace(self, aliases_revision=None)), sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> ShardState | None:
        try:
            data = json.loads(text or "")
            return cls(
                str(data["build_id"]),
                str(data["instance"]),
                int(data["relations_revision"]),
                int(data["revision"]),
                None,
            )
        except (ValueError, KeyError, TypeError):
            return None

    def same_build(self, other: ShardState) -> bool:
        """Same index generation: only firms and aliases may differ (caught up incrementally)."""
        return (self.build_id, self.instance, self.relations_revision) == (
            other.build_id,
            other.instance,
            other.relations_revision,
        )
