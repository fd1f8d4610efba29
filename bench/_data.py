"""Shared helpers of the benches: locate chainkg and load it as the service would hold it."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from chainmatch.corpus_files import corpus_from_files
from recommender.corpus import FirmDoc, Relation

REPO = Path(__file__).resolve().parents[1]


def chainkg_dir() -> Path:
    env = os.environ.get("CHAINMATCH_CHAINKG_DIR")
    return Path(env) if env else REPO.parent / "shared/datasets/chainkg"


@lru_cache(maxsize=2)
def load_corpus(
    firms: Path | None = None, relations: Path | None = None
) -> tuple[list[FirmDoc], list[Relation]]:
    """chainkg's firms and relations through the real importer and the index's corpus loader —
    the same code path the API serves (see :mod:`chainmatch.corpus_files`)."""
    return corpus_from_files(
        firms or chainkg_dir() / "firms.jsonl", relations or chainkg_dir() / "product_relations.jsonl"
    )


def load_firms() -> list[FirmDoc]:
    return load_corpus()[0]


def load_relations() -> list[Relation]:
    return load_corpus()[1]


def load_gaps(path: Path | None = None) -> list[dict]:
    path = path or chainkg_dir() / "gaps_dev.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]
