"""Hard filters and the region split as boolean masks over firm rows, applied before the top-k cut."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .corpus import FirmFilter, MatchQuery, Region, Scope
from .entry_table import EntryTable
from .explain import SME_SCALES, is_specialised


@dataclass
class FirmAttrs:
    """Columnar firm attributes for vectorised filtering."""

    alive: np.ndarray
    province: np.ndarray
    city: np.ndarray
    china: np.ndarray
    scale: np.ndarray
    boost: np.ndarray  # 1 专精特新, 0.5 other SMEs, 0 else (the local suppliers' SME bonus)
    codes: dict[str, int] = field(default_factory=dict)

    _COLUMNS = ("alive", "province", "city", "china", "scale", "boost")

    def save(self, directory: Path) -> None:
        """``filters.npz`` and ``filters.json``: a loaded index masks rows without decoding firms."""
        np.savez(directory / "filters.npz", **{c: getattr(self, c) for c in self._COLUMNS})
        (directory / "filters.json").write_text(json.dumps(self.codes, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> FirmAttrs:
        codes = json.loads((directory / "filters.json").read_text(encoding="utf-8"))
        with np.load(directory / "filters.npz") as z:
            columns = [z[c] for c in cls._COLUMNS]
        if len({len(c) for c in columns}) != 1:
            raise ValueError("filter columns disagree in size")
        alive, province, city, china, scale, boost = columns
        return cls(alive, province, city, china, scale, boost, {str(k): int(v) for k, v in codes.items()})


class FirmFilters:
    """Masks over the rows of one entry table; its columns are extended lazily for rows added
    since the last query."""

    def __init__(self, table: EntryTable, attrs: FirmAttrs | None = None) -> None:
        self.table = table
        self._attrs = attrs  # the saved columns of a loaded index

    def drop(self, rows: list[int]) -> None:
        if self._attrs is not None:
            for row in rows:
                if row < len(self._attrs.alive):
                    self._attrs.alive[row] = False

    def attrs(self) -> FirmAttrs:
        a = self._attrs
        start = 0 if a is None else len(a.alive)
        n = self.table.n_rows
        if a is not None and start == n:
            return a
        codes: dict[str, int] = {} if a is None else a.codes
        m = n - start
        alive = np.zeros(m, dtype=bool)
        prov = np.full(m, -1, dtype=np.int32)
        city = np.full(m, -1, dtype=np.int32)
        china = np.zeros(m, dtype=bool)
        scale = np.full(m, -1, dtype=np.int32)
        boost = np.zeros(m, dtype=np.float32)
        for i in range(m):
            f = self.table.firms[start + i]
            if f is None:
                continue
            alive[i] = True
            if f.province:
                prov[i] = codes.setdefault("p:" + f.province, len(codes))
            if f.city:
                city[i] = codes.setdefault("c:" + f.city, len(codes))
            china[i] = f.country == "中国"
            scale[i] = codes.setdefault("s:" + f.scale, len(codes))
            boost[i] = 1.0 if is_specialised(f) else 0.5 if f.scale in SME_SCALES else 0.0
        if a is None:
            self._attrs = FirmAttrs(alive, prov, city, china, scale, boost, codes)
        else:
            cat = np.concatenate
            self._attrs = FirmAttrs(
                cat([a.alive, alive]), cat([a.province, prov]), cat([a.city, city]),
                cat([a.china, china]), cat([a.scale, scale]), cat([a.boost, boost]), codes,
            )  # fmt: skip
        return self._attrs

    def mask(self, query: MatchQuery, scope: Scope) -> np.ndarray:
        """Rows eligible for ``query`` within ``scope`` of its region."""
        a = self.attrs()
        mask = a.alive.copy()
        if scope is not Scope.ALL and query.region is not None:
            inside = _inside(query.region, a)
            mask &= inside if scope is Scope.INSIDE else ~inside
        flt: FirmFilter = query.filters
        if flt.provinces_include:
            codes = [a.codes.get("p:" + p, -2) for p in flt.provinces_include]
            mask &= np.isin(a.province, codes) & a.china
        if flt.provinces_exclude:
            codes = [a.codes.get("p:" + p, -2) for p in flt.provinces_exclude]
            mask &= ~(np.isin(a.province, codes) & a.china)
        if flt.scales:
            codes = [a.codes.get("s:" + s, -2) for s in flt.scales]
            mask &= np.isin(a.scale, codes)
        if flt.tags_any:
            tagged = np.zeros(len(mask), dtype=bool)
            for t in flt.tags_any:
                rows = self.table.tags.get(t)
                if rows:
                    tagged[list(rows)] = True
            mask &= tagged
        excluded = set(flt.exclude_firm_ids)
        if query.leader_firm_id:
            excluded.add(query.leader_firm_id)
        for fid in excluded:
            row = self.table.row_of.get(fid)
            if row is not None:
                mask[row] = False
        return mask


def _inside(region: Region, a: FirmAttrs) -> np.ndarray:
    pc = a.codes.get("p:" + region.province, -2)
    inside = a.china & (a.province == pc)
    if region.city is not None:
        inside &= a.city == a.codes.get("c:" + region.city, -2)
    return inside
