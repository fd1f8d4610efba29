"""Which region a caller may assess, track outreach in and see declared gap data for."""

from __future__ import annotations

from chainmatch.errors import RegionForbidden, RegionInvalid, RegionMissing
from chainmatch.keys import Principal
from chainmatch.labels import place
from models.apikey import Role
from models.regions import is_known_province, normalize_city, normalize_province
from recommender.corpus import Region


def resolve_region(
    principal: Principal,
    province: str | None,
    city: str | None = None,
    *,
    default: Region | None = None,
) -> Region:
    """The region asked for, checked against the caller's scope.

    A bureau's default is its own region, and it may ask only for its own region (a province-level
    bureau may narrow to one of its cities). Admin may ask for any region; its default is ``default``
    (e.g. the chain's). Leaders have no region here.
    """
    asked_province = normalize_province(province)
    asked_city = normalize_city(city)
    if asked_province is not None and not is_known_province(asked_province):
        raise RegionInvalid(f"未知省份 {asked_province[:40]} (unknown province): 例如 广东省 / 广东 / 粤")
    if asked_city is not None and len(asked_city) > 60:
        raise RegionInvalid("城市名称过长 (city name too long)")
    if principal.role in (Role.LEADER, Role.SUPPLIER):
        raise RegionForbidden("企业不能查看区域分析 (firms cannot assess regions)")
    if principal.role is Role.BUREAU:
        assert principal.province is not None
        if asked_province is None:
            return Region(principal.province, principal.city or asked_city)
        if asked_province != principal.province or (
            principal.city and asked_city not in (None, principal.city)
        ):
            raise RegionForbidden("招商局只能查看本辖区 (a bureau may only work on its own region)")
        return Region(asked_province, principal.city or asked_city)
    if asked_province is None:
        if default is None:
            raise RegionMissing("请指定区域 region，例如 广东省 (a region is required)")
        return default
    return Region(asked_province, asked_city)


def within(principal: Principal, province: str | None, city: str | None) -> bool:
    """Whether a record of region (province, city) is within the caller's scope."""
    if principal.role is Role.ADMIN:
        return True
    if principal.role is not Role.BUREAU or province != principal.province:
        return False
    return principal.city is None or city == principal.city


def region_label(region: Region) -> str:
    return place(region.province, region.city)


def region_key(region: Region) -> str:
    return f"{region.province}|{region.city or ''}"
