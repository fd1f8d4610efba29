"""Shared helpers of the benches: locate and load chainkg as the importer would."""

from __future__ import annotations

import json
import os
from pathlib import Path

from recommender.corpus import FirmDoc, Relation, RelationKind
from recommender.products import clean_products

REPO = Path(__file__).resolve().parents[1]


def chainkg_dir() -> Path:
    env = os.environ.get("CHAINMATCH_CHAINKG_DIR")
    return Path(env) if env else REPO.parent / "shared/datasets/chainkg"


def load_firms(path: Path | None = None) -> list[FirmDoc]:
    path = path or chainkg_dir() / "firms.jsonl"
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            products, _ = clean_products(d.get("products") or [])
            out.append(
                FirmDoc(
                    id=d["id"],
                    name=d["name"],
                    fullname=d.get("fullname"),
                    province=d.get("province"),
                    city=d.get("city"),
                    industry=tuple(d.get("industry") or ()),
                    products=tuple(products),
                    tags=tuple(d.get("tags") or ()),
                )
            )
    return out


def load_relations(path: Path | None = None) -> list[Relation]:
    path = path or chainkg_dir() / "product_relations.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [Relation(d["product"], RelationKind(d["relation"]), d["target"]) for d in map(json.loads, fh)]


def load_gaps(path: Path | None = None) -> list[dict]:
    path = path or chainkg_dir() / "gaps_dev.jsonl"
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]
