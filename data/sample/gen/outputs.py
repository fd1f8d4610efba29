"""The files the generator writes, built from the tables and the invented firms."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any

from gen.checks import check, is_gd
from gen.firms import FirmMaker
from gen.tables import Tables, load

README_TEMPLATE = Path(__file__).resolve().parent / "readme_template.md"
RELATION_KINDS = ("upstream_material", "subclass", "downstream_product")
SEGMENTS = ("upstream", "midstream", "downstream")


def build_relations(tables: Tables) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    pairs = [
        (product, relation, target)
        for relation in ("upstream_material", "subclass")
        for product, targets in tables.relations[relation].items()
        for target in targets
    ]
    pairs += [
        (product, "downstream_product", target) for product, target in tables.relations["downstream_product"]
    ]
    for key in pairs:
        if key not in seen:
            seen.add(key)
            rows.append({"product": key[0], "relation": key[1], "target": key[2]})
    return rows


def build_chain(tables: Tables) -> dict[str, Any]:
    chain = tables.chain
    return {
        "id": chain["id"],
        "name": chain["name"],
        "description": chain["description"],
        "region": chain["region"],
        "nodes": [
            {"id": n["id"], "name": n["name"], "segment": n["segment"], "products": n["products"]}
            for n in chain["nodes"]
        ],
        "edges": [{"source": s, "target": t} for s, t in chain["edges"]],
    }


def build_gap_lists(tables: Tables) -> list[dict[str, Any]]:
    """The gap lists; the leaders must have their ids (FirmMaker.make gives them)."""
    leaders = {str(leader["key"]): leader for leader in tables.leaders}
    out: list[dict[str, Any]] = []
    for gl in tables.gap_lists:
        leader = leaders[str(gl["leader"])]
        _, city_code, number = str(leader["id"]).split("-")
        out.append(
            {
                "id": f"GL-2026-{city_code}-{number}",
                "leader_firm_id": leader["id"],
                "title": f"{leader['short']}2026年断链断供风险清单",
                "region": {"province": tables.guangdong, "city": None},
                "items": [
                    {
                        "name": item["name"],
                        "description": item["description"],
                        "for_product": item.get("for_product", gl["product"]),
                        "spec": item["spec"],
                        "annual_demand_cny": float(item["annual_demand_cny"]),
                        "import_share": item["import_share"],
                        "current_source_country": item["current_source_country"],
                        "risk_level": item["risk_level"],
                    }
                    for item in gl["items"]
                ],
            }
        )
    return out


def build_readme(
    tables: Tables,
    firms: list[dict[str, Any]],
    relations: list[dict[str, str]],
    gap_lists: list[dict[str, Any]],
    chain: dict[str, Any],
) -> str:
    leaders = [f for f in firms if "链主企业" in f["tags"]]
    gd = [f for f in firms if is_gd(f) and f not in leaders]
    foreign = [f for f in firms if f["country"] != "中国"]
    nodes: list[dict[str, Any]] = chain["nodes"]
    counts = {kind: sum(1 for r in relations if r["relation"] == kind) for kind in RELATION_KINDS}
    counts |= {segment: sum(1 for n in nodes if n["segment"] == segment) for segment in SEGMENTS}
    leader_lines = "\n".join(
        f"| {f['id']} | {f['name']} | {f['city']} | {'、'.join(str(p['name']) for p in f['products'][:2])} |"
        for f in leaders
    )
    gap_lines = "\n".join(
        f"| {gl['leader_firm_id']} | {gl['title']} | {'、'.join(i['name'] for i in gl['items'])} |"
        for gl in gap_lists
    )
    template = Template(README_TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(
        counts,
        firms=len(firms),
        leaders=len(leaders),
        gd_firms=len(gd),
        other_provinces=len(firms) - len(leaders) - len(gd) - len(foreign),
        abroad=len(foreign),
        relations=len(relations),
        gap_lists=len(gap_lists),
        items=sum(len(gl["items"]) for gl in gap_lists),
        nodes=len(nodes),
        edges=len(chain["edges"]),
        leader_lines=leader_lines,
        gap_lines=gap_lines,
        true_gaps=", ".join(tables.true_gaps),
    )


def generate() -> dict[str, str]:
    """File name → text of every file the generator writes."""
    tables = load()
    firms = FirmMaker(tables).make()
    relations = build_relations(tables)
    gap_lists = build_gap_lists(tables)
    chain = build_chain(tables)
    check(firms, relations, gap_lists, tables.true_gaps)

    def dump(obj: object) -> str:
        return json.dumps(obj, ensure_ascii=False)

    return {
        "firms.jsonl": "".join(dump(f) + "\n" for f in firms),
        "relations.jsonl": "".join(dump(r) + "\n" for r in relations),
        "gap_lists.json": json.dumps(gap_lists, ensure_ascii=False, indent=2) + "\n",
        "chain.json": json.dumps(chain, ensure_ascii=False, indent=2) + "\n",
        "README.md": build_readme(tables, firms, relations, gap_lists, chain),
    }
