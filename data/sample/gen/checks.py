"""The rule the tests assert, checked before anything is written: every gap item has makers."""

from __future__ import annotations

import unicodedata
from typing import Any


def norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def is_gd(firm: dict[str, Any]) -> bool:
    return firm["country"] == "中国" and norm(str(firm["province"] or "")) in ("广东省", "广东", "粤")


def narrower(item: str, relations: list[dict[str, str]]) -> set[str]:
    """The item and every narrower kind of it, through ``subclass`` relations."""
    children: dict[str, list[str]] = {}
    for rel in relations:
        if rel["relation"] == "subclass":
            children.setdefault(norm(rel["product"]), []).append(norm(rel["target"]))
    out, todo = {norm(item)}, [norm(item)]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def check(
    firms: list[dict[str, Any]],
    relations: list[dict[str, str]],
    gap_lists: list[dict[str, Any]],
    true_gaps: tuple[str, ...],
) -> None:
    """At least 3 makers outside Guangdong per item, and a local one unless it is a true gap."""
    problems: list[str] = []
    for gl in gap_lists:
        leader = gl["leader_firm_id"]
        for item in gl["items"]:
            kinds = narrower(item["name"], relations)
            makers = [
                f for f in firms if f["id"] != leader and any(norm(p["name"]) in kinds for p in f["products"])
            ]
            local = sum(1 for f in makers if is_gd(f))
            outside = len(makers) - local
            if outside < 3:
                problems.append(f"{item['name']}: only {outside} makers outside Guangdong")
            if item["name"] in true_gaps and local:
                problems.append(f"{item['name']}: meant as a true gap, but {local} Guangdong makers")
            if item["name"] not in true_gaps and not local:
                problems.append(f"{item['name']}: no Guangdong maker")
    if problems:
        raise SystemExit("sample data inconsistent:\n  " + "\n  ".join(problems))
