"""The sample cluster's hand-written tables, read from the YAML files in data/sample/tables/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TABLES = Path(__file__).resolve().parents[1] / "tables"


@dataclass(frozen=True)
class City:
    code: str  # id code of a Guangdong city (GD-SZ-0001); empty elsewhere
    area: str  # administrative area code, characters 3–8 of a USCC
    districts: dict[str, str]  # district → its area code


@dataclass(frozen=True)
class Province:
    prefix: str  # firm id prefix outside Guangdong (JS-0012)
    cities: dict[str, City]


@dataclass(frozen=True)
class Arch:
    """A domestic firm archetype (archetypes.yaml explains the fields)."""

    key: str
    industry: tuple[str, ...]
    domains: tuple[str, ...]
    app: str
    core: tuple[tuple[str, ...], ...]
    extras: tuple[str, ...] = ()
    gd: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    core_gd: tuple[tuple[str, ...], ...] = ()
    desc: tuple[str, ...] = ()
    sme: bool = True
    style: str = "custom"


@dataclass(frozen=True)
class Tables:
    guangdong: str
    municipalities: frozenset[str]
    provinces: dict[str, Province]
    relations: dict[str, Any]
    leaders: list[dict[str, Any]]
    true_gaps: tuple[str, ...]
    gap_lists: list[dict[str, Any]]
    arches: list[Arch]
    countries: dict[str, str]
    foreign: list[dict[str, Any]]
    names: dict[str, Any]
    chain: dict[str, Any]


def _read(name: str) -> Any:
    return yaml.safe_load((TABLES / name).read_text(encoding="utf-8"))


def _bundles(rows: list[list[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(row) for row in rows)


def load() -> Tables:
    industries = {key: tuple(path) for key, path in _read("industries.yaml").items()}
    places = _read("places.yaml")
    provinces = {
        name: Province(
            prefix=province["prefix"],
            cities={
                city: City(c["code"], c["area"], c["districts"]) for city, c in province["cities"].items()
            },
        )
        for name, province in places["provinces"].items()
    }
    leaders = _read("leaders.yaml")
    for leader in leaders:
        leader["industry"] = industries[leader["industry"]]
    arches = [
        Arch(
            key=a["key"],
            industry=industries[a["industry"]],
            domains=tuple(a["domains"]),
            app=a["app"],
            core=_bundles(a["core"]),
            extras=tuple(a.get("extras", ())),
            gd=tuple(a.get("gd", ())),
            other=tuple(a.get("other", ())),
            core_gd=_bundles(a.get("core_gd", [])),
            desc=tuple(a.get("desc", ())),
            sme=a.get("sme", True),
            style=a.get("style", "custom"),
        )
        for a in _read("archetypes.yaml")
    ]
    foreign = _read("foreign.yaml")
    for firm in foreign["firms"]:
        firm["industry"] = industries[firm["industry"]]
    gaps = _read("gap_lists.yaml")
    return Tables(
        guangdong=places["guangdong"],
        municipalities=frozenset(places["municipalities"]),
        provinces=provinces,
        relations=_read("relations.yaml"),
        leaders=leaders,
        true_gaps=tuple(gaps["true_gaps"]),
        gap_lists=gaps["lists"],
        arches=arches,
        countries=foreign["countries"],
        foreign=foreign["firms"],
        names=_read("names.yaml"),
        chain=_read("chain.yaml"),
    )
