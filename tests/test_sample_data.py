"""The bundled sample cluster (data/sample/): shape, codes, consistency of gap lists, reproducibility.

Standard library + pytest only, and independent of data/sample/generate.py (its own USCC checker,
its own matching rule), so that a bug in the generator cannot hide itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

Record = dict[str, Any]
Records = list[Record]

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
GENERATED = ("firms.jsonl", "relations.jsonl", "gap_lists.json", "chain.json", "README.md")

# Gap items that deliberately have NO maker in Guangdong (investment targets only).
TRUE_GAPS = {"微通道板", "超导磁体", "液氦", "高速ADC芯片", "原子力显微镜探针"}
GUANGDONG = {"广东省", "广东", "粤"}  # the messy spellings ingest normalises
TAGS = {"专精特新", "小巨人", "单项冠军", "高新技术企业", "listed", "链主企业"}
SCALES = {"micro", "small", "medium", "large"}
RELATIONS = {"upstream_material", "subclass", "downstream_product"}

# --- GB 32100-2015 / GB 11714-1997 ------------------------------------------------------------
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_W = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_ok(code: str) -> bool:
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(code[:17], USCC_W, strict=True))
    return code[17] == USCC_CHARS[(31 - total % 31) % 31]


def org_code_ok(org: str) -> bool:
    """The 9-character organisation code inside a USCC (positions 9–17)."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(org[:8], ORG_W, strict=True))
    check = 11 - total % 11
    return org[8] == {10: "X", 11: "0"}.get(check, str(check))


def test_checkers_know_real_world_examples() -> None:
    assert uscc_ok("91350100M000100Y43")  # the example code of GB 32100-2015
    assert not uscc_ok("91350100M000100Y44")
    assert org_code_ok("M000100Y4")  # the organisation code inside that example
    assert org_code_ok("D2143569X")  # the classic GB 11714 example, check digit X
    assert not org_code_ok("D21435690")


# --- loading ------------------------------------------------------------------------------------


def norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def read_jsonl(name: str) -> Records:
    lines = (SAMPLE / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def firms() -> Records:
    return read_jsonl("firms.jsonl")


@pytest.fixture(scope="module")
def relations() -> Records:
    return read_jsonl("relations.jsonl")


@pytest.fixture(scope="module")
def gap_lists() -> Records:
    return json.loads((SAMPLE / "gap_lists.json").read_text(encoding="utf-8"))


def in_guangdong(firm: Record) -> bool:
    return firm["country"] == "中国" and norm(firm["province"] or "") in GUANGDONG


# --- firms --------------------------------------------------------------------------------------


def test_counts(firms: Records, relations: Records, gap_lists: Records) -> None:
    assert len(firms) >= 300
    assert len(gap_lists) >= 4
    assert len(relations) >= 150
    leaders = [f for f in firms if "链主企业" in f["tags"]]
    local = [f for f in firms if in_guangdong(f) and f not in leaders]
    foreign = [f for f in firms if f["country"] != "中国"]
    assert 5 <= len(leaders) <= 10
    assert all(in_guangdong(f) for f in leaders)
    assert len(local) >= 120
    assert len(firms) - len(leaders) - len(local) - len(foreign) >= 100
    assert len(foreign) >= 30


def test_ids_are_unique(firms: Records, gap_lists: Records) -> None:
    ids = [f["id"] for f in firms]
    assert len(ids) == len(set(ids))
    assert len({gl["id"] for gl in gap_lists}) == len(gap_lists)


def test_every_uscc_is_valid(firms: Records) -> None:
    codes = [f["uscc"] for f in firms if f["country"] == "中国"]
    assert all(isinstance(c, str) for c in codes)
    bad = [c for c in codes if not (uscc_ok(c) and org_code_ok(c[8:17]))]
    assert not bad
    assert len(set(codes)) == len(codes)
    assert all(f["uscc"] is None and f["province"] is None for f in firms if f["country"] != "中国")


def test_firm_fields(firms: Records) -> None:
    for firm in firms:
        assert firm["name"].strip() and firm["fullname"].strip(), firm["id"]
        assert set(firm["tags"]) <= TAGS, firm["id"]
        assert firm["scale"] in SCALES, firm["id"]
        assert isinstance(firm["employees"], int) and firm["employees"] > 0
        assert isinstance(firm["revenue_cny"], float) and firm["revenue_cny"] > 0
        assert firm["description"].strip()
        assert 2 <= len(firm["industry"]) <= 3
        if "小巨人" in firm["tags"]:
            assert "专精特新" in firm["tags"], firm["id"]
        contact = firm.get("contact")
        if contact is not None:
            assert contact["name"] and contact["phone"] and contact["email"].endswith("@example.cn")
    with_contact = sum(1 for f in firms if f.get("contact"))
    assert 0.35 <= with_contact / len(firms) <= 0.65


def test_product_shares(firms: Records) -> None:
    for firm in firms:
        products = firm["products"]
        assert 1 <= len(products) <= 5, firm["id"]
        shares = [p["share"] for p in products]
        assert all(0 <= s <= 1 for s in shares), firm["id"]
        assert sum(shares) <= 1.0001, firm["id"]
        names = [norm(p["name"]) for p in products]
        assert len(names) == len(set(names)), firm["id"]


def test_messy_records_are_still_there(firms: Records) -> None:
    """Ingest normalises these on purpose: the sample must keep exercising it."""
    provinces = {f["province"] for f in firms}
    assert {"广东", "粤"} <= provinces
    products = [p["name"] for f in firms for p in f["products"]]
    assert any(name != norm(name) for name in products)  # full-width letters or stray spaces
    assert any("質譜" in f["description"] for f in firms)  # traditional characters


# --- relations, gap lists, chain -----------------------------------------------------------------


def narrower_kinds(item: str, relations: Records) -> set[str]:
    """``item`` and every product reachable from it through subclass relations."""
    children: dict[str, set[str]] = {}
    for rel in relations:
        if rel["relation"] == "subclass":
            children.setdefault(norm(rel["product"]), set()).add(norm(rel["target"]))
    seen = {norm(item)}
    todo = [norm(item)]
    while todo:
        for child in children.get(todo.pop(), set()) - seen:
            seen.add(child)
            todo.append(child)
    return seen


def test_relations(relations: Records) -> None:
    assert {r["relation"] for r in relations} == RELATIONS
    keys = [(r["product"], r["relation"], r["target"]) for r in relations]
    assert len(keys) == len(set(keys))
    assert all(r["product"] != r["target"] for r in relations)


def test_gap_lists_belong_to_leaders(firms: Records, gap_lists: Records) -> None:
    by_id = {f["id"]: f for f in firms}
    for gl in gap_lists:
        leader = by_id[gl["leader_firm_id"]]
        assert "链主企业" in leader["tags"]
        assert gl["region"]["province"] == "广东省"
        assert gl["title"].endswith("2026年断链断供风险清单")
        assert 4 <= len(gl["items"]) <= 8
        for item in gl["items"]:
            assert item["name"] and item["description"] and item["spec"] and item["for_product"]
            assert 0 <= item["import_share"] <= 1
            assert item["risk_level"] in range(1, 6)
            assert item["annual_demand_cny"] > 0
            assert item["current_source_country"]


def test_every_gap_item_has_good_answers(firms: Records, relations: Records, gap_lists: Records) -> None:
    """≥ 3 makers outside Guangdong for every item; ≥ 1 Guangdong maker (not the leader) unless the
    item is one of the deliberate true gaps, which have none."""
    no_local: set[str] = set()
    items: set[str] = set()
    for gl in gap_lists:
        for item in gl["items"]:
            kinds = narrower_kinds(item["name"], relations)
            makers = [
                f
                for f in firms
                if f["id"] != gl["leader_firm_id"] and any(norm(p["name"]) in kinds for p in f["products"])
            ]
            local = [f for f in makers if in_guangdong(f)]
            assert len(makers) - len(local) >= 3, item["name"]
            items.add(item["name"])
            if not local:
                no_local.add(item["name"])
    assert no_local == TRUE_GAPS
    assert len(no_local) < len(items) / 4  # a minority


def test_chain_definition() -> None:
    chain = json.loads((SAMPLE / "chain.json").read_text(encoding="utf-8"))
    assert chain["id"] == "precision-instruments-gd" and chain["region"]["province"] == "广东省"
    nodes = {n["id"]: n for n in chain["nodes"]}
    assert len(nodes) == len(chain["nodes"])
    assert {n["segment"] for n in nodes.values()} == {"upstream", "midstream", "downstream"}
    assert all(n["products"] for n in nodes.values())
    order = {"upstream": 0, "midstream": 1, "downstream": 2}
    for edge in chain["edges"]:
        source, target = nodes[edge["source"]], nodes[edge["target"]]
        assert order[source["segment"]] < order[target["segment"]], edge


# --- reproducibility -----------------------------------------------------------------------------


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SAMPLE / "generate.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
