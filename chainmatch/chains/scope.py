"""Regions as records carry them: whether a record lies in the caller's scope, and a region's
label and key. Which region a request is about, and whether the caller may ask for it, is decided
in one place above this module, :mod:`chainmatch.services.regions`."""

from __future__ import annotations

from chainmatch.keys import Principal
from chainmatch.labels import place
from models.apikey import Role
from recommender.corpus import Region

__all__ = ["region_key", "region_label", "within"]


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
