"""Region authorisation, in one place: which region a caller's request is about, and whether the
caller may work on it.

Every route that takes a region resolves it here. Routes differ in four ways, kept as they were
when the rules lived in three places (``chains/scope.py``, the match and re-match routers); a
:class:`RegionRule` names them, and each route uses the rule it always had:

- whether an unknown province is refused (422) or searched as given (a foreign region, for admin);
- whether a city bureau that names a region must name its city (403) or may leave the city out and
  be narrowed to it;
- what happens when no region is given and there is no default: 422, or no region at all;
- the words of the 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from chainmatch.errors import RegionForbidden, RegionInvalid, RegionMissing
from chainmatch.keys import Principal
from models.apikey import Role
from models.regions import is_known_province, normalize_city, normalize_province
from recommender.corpus import Region


@dataclass(frozen=True, slots=True)
class RegionRule:
    """How one kind of request reads the region it is given (see the module docstring)."""

    forbidden: str  # the 403 for a bureau asking outside its region
    missing: str | None  # the 422 when nothing is given and there is no default; None: no region
    known_provinces_only: bool = True  # False: an unknown province is searched as given
    city_bureau_names_city: bool = False  # True: a city bureau naming a region must name its city


# Assessing a chain, tracking outreach, matchmaking, a firm's place: a bureau's own region.
ASSESS = RegionRule(
    forbidden="招商局只能查看本辖区 (a bureau may only work on its own region)",
    missing="请指定区域 region，例如 广东省 (a region is required)",
)
# POST /v1/match and /v1/match/batch: no region is a search without one.
MATCH = RegionRule(
    forbidden="招商局只能以本辖区为区域查询 (a bureau queries for its own region)",
    missing=None,
    known_provinces_only=False,
    city_bureau_names_city=True,
)
# POST /v1/rematch-jobs: admin names the region.
REMATCH = RegionRule(
    forbidden="招商局只能重新匹配本辖区的清单 (a bureau re-matches its own region)",
    missing="须指定 region (region is required)",
    known_provinces_only=False,
    city_bureau_names_city=True,
)

FIRMS_CANNOT = "企业不能查看区域分析 (firms cannot assess regions)"


def authorise_region(
    principal: Principal,
    province: str | None,
    city: str | None = None,
    *,
    rule: RegionRule = ASSESS,
    default: Region | None = None,
) -> Region | None:
    """The region asked for, checked against the caller's scope; None only when ``rule.missing``
    is None and nothing was asked for by a caller without a region of its own.

    A bureau's default is its own region, and it may ask only for its own region (a province-level
    bureau may narrow to one of its cities). Admin may ask for any region; its default is
    ``default`` (e.g. the chain's). Firms (leaders, suppliers) have no region here.
    """
    asked_province = normalize_province(province)
    asked_city = normalize_city(city)
    if rule.known_provinces_only and asked_province is not None and not is_known_province(asked_province):
        raise RegionInvalid(f"未知省份 {asked_province[:40]} (unknown province): 例如 广东省 / 广东 / 粤")
    if asked_city is not None and len(asked_city) > 60:
        raise RegionInvalid("城市名称过长 (city name too long)")
    if principal.role in (Role.LEADER, Role.SUPPLIER):
        raise RegionForbidden(FIRMS_CANNOT)
    if principal.role is Role.BUREAU:
        assert principal.province is not None
        if asked_province is None:
            return Region(principal.province, principal.city or asked_city)
        city_differs = (
            asked_city != principal.city
            if rule.city_bureau_names_city
            else asked_city not in (None, principal.city)
        )
        if asked_province != principal.province or (principal.city and city_differs):
            raise RegionForbidden(rule.forbidden)
        return Region(asked_province, principal.city or asked_city)
    if asked_province is None:
        if default is not None or rule.missing is None:
            return default
        raise RegionMissing(rule.missing)
    return Region(asked_province, asked_city)


def resolve_region(
    principal: Principal,
    province: str | None,
    city: str | None = None,
    *,
    default: Region | None = None,
) -> Region:
    """:func:`authorise_region` under the :data:`ASSESS` rule, where a region is always the answer."""
    region = authorise_region(principal, province, city, rule=ASSESS, default=default)
    assert region is not None  # ASSESS.missing is set: no region raised RegionMissing
    return region
