"""A leader's requirements per weak link, and how a candidate firm fares against them.

Stored per gap-list item (by the item's name). Hard requirements leave a candidate out — and the
list says how many makers each left out ("3 家企业因无 IATF 16949 被排除"); soft ones raise or lower it,
and every candidate's reasons say which it meets. A firm's certifications and capacity are what its
valid supply offers state (and certification tags in its registry profile); what nobody stated is
not met.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, delete, select

from chainmatch.errors import RequirementError
from chainmatch.labels import cny, scale_label
from models.common import utcnow
from models.gap import GapItem, GapList
from models.offer import SupplyOffer
from models.regions import normalize_province
from models.requirement import Criterion, GapRequirement, RequirementIn, RequirementPublic, RequirementsUpdate
from recommender.corpus import FirmDoc, Region
from recommender.text import normalize_text

SCALE_ORDER = {"micro": 0, "small": 1, "medium": 2, "large": 3}

# Province capitals (lat, lon): distances between regions are measured between them.
CAPITALS: dict[str, tuple[float, float]] = {
    "北京市": (39.90, 116.40),
    "天津市": (39.13, 117.20),
    "上海市": (31.23, 121.47),
    "重庆市": (29.56, 106.55),
    "河北省": (38.04, 114.51),
    "山西省": (37.87, 112.55),
    "辽宁省": (41.80, 123.43),
    "吉林省": (43.82, 125.32),
    "黑龙江省": (45.80, 126.53),
    "江苏省": (32.06, 118.80),
    "浙江省": (30.27, 120.16),
    "安徽省": (31.82, 117.23),
    "福建省": (26.07, 119.30),
    "江西省": (28.68, 115.86),
    "山东省": (36.65, 117.12),
    "河南省": (34.75, 113.63),
    "湖北省": (30.59, 114.31),
    "湖南省": (28.23, 112.94),
    "广东省": (23.13, 113.26),
    "海南省": (20.04, 110.20),
    "四川省": (30.57, 104.07),
    "贵州省": (26.65, 106.63),
    "云南省": (25.04, 102.71),
    "陕西省": (34.34, 108.94),
    "甘肃省": (36.06, 103.83),
    "青海省": (36.62, 101.78),
    "台湾省": (25.03, 121.57),
    "内蒙古自治区": (40.84, 111.75),
    "广西壮族自治区": (22.82, 108.37),
    "西藏自治区": (29.65, 91.13),
    "宁夏回族自治区": (38.49, 106.23),
    "新疆维吾尔自治区": (43.83, 87.62),
    "香港特别行政区": (22.32, 114.17),
    "澳门特别行政区": (22.20, 113.55),
}


def distance_km(a: str | None, b: str | None) -> float | None:
    """Great-circle distance between two provinces' capitals (0 within one); None when unknown."""
    if a is None or b is None or a not in CAPITALS or b not in CAPITALS:
        return None
    if a == b:
        return 0.0
    (la1, lo1), (la2, lo2) = CAPITALS[a], CAPITALS[b]
    p1, p2, dl = math.radians(la1), math.radians(la2), math.radians(lo2 - lo1)
    cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(max(-1.0, min(1.0, cos)))


def cert_key(text: str) -> str:
    """``ISO 9001:2015`` → ``ISO9001``; ``iatf16949`` → ``IATF16949``."""
    head = normalize_text(text).upper().split(":")[0]
    return re.sub(r"[^A-Z0-9\u4e00-\u9fff]", "", head)


_CERT_TAG = re.compile(r"^(ISO|IATF|AS|GJB|TS|CE|UL|GMP|FDA|API|IECQ|ITAR)", re.IGNORECASE)


# ------------------------------------------------------------------------------ storage
def requirements_of(session: Session, gap_list: GapList) -> list[GapRequirement]:
    return list(
        session.exec(
            select(GapRequirement)
            .where(GapRequirement.gap_list_id == gap_list.id)
            .order_by(col(GapRequirement.id))
        )
    )


def by_item(requirements: Sequence[GapRequirement]) -> dict[str, GapRequirement]:
    return {r.item: r for r in requirements}


def replace_requirements(
    session: Session,
    gap_list: GapList,
    items: Sequence[GapItem],
    body: RequirementsUpdate,
    key_id: int | None,
) -> list[GapRequirement]:
    """Replace the list's requirements. Each names an item the list holds, at most once."""
    names = {item.name for item in items}
    seen: set[str] = set()
    for i, req in enumerate(body.requirements):
        if req.item not in names:
            raise RequirementError(
                f"requirements[{i}].item: 清单中没有「{req.item}」这一项 (the list has no such item)"
            )
        if req.item in seen:
            raise RequirementError(f"requirements[{i}].item: 「{req.item}」重复 (item named twice)")
        seen.add(req.item)
    session.exec(delete(GapRequirement).where(col(GapRequirement.gap_list_id) == gap_list.id))
    session.flush()
    out = []
    for req in body.requirements:
        row = GapRequirement(
            gap_list_id=gap_list.id,
            updated_by_key_id=key_id or None,
            updated_at=utcnow(),
            **_normalised(req),
        )
        session.add(row)
        out.append(row)
    session.flush()
    return out


def _normalised(req: RequirementIn) -> dict[str, Any]:
    data = req.model_dump()
    data["provinces"] = list(dict.fromkeys(p for p in (normalize_province(x) for x in req.provinces) if p))
    data["certifications"] = list(dict.fromkeys(req.certifications))
    data["soft"] = [c.value for c in dict.fromkeys(req.soft)]
    return data


def to_public(req: GapRequirement) -> RequirementPublic:
    return RequirementPublic.model_validate(req, from_attributes=True)


# ------------------------------------------------------------------------------ evaluation
@dataclass
class Verdict:
    """How one candidate fares against one item's requirements."""

    excluded: list[str] = field(default_factory=list)  # failed hard requirements, as labels
    met: list[str] = field(default_factory=list)
    missed_soft: list[str] = field(default_factory=list)
    preferred: bool = False

    @property
    def adjustment(self) -> float:
        return SOFT_STEP * (len(self.met) - len(self.missed_soft)) + (
            PREFERRED_BONUS if self.preferred else 0.0
        )

    def reasons(self) -> list[str]:
        out = []
        if self.preferred:
            out.append("链主点名希望引进")
        if self.met:
            out.append("满足链主要求：" + "、".join(self.met))
        if self.missed_soft:
            out.append("未满足链主的非强制要求：" + "、".join(self.missed_soft))
        return out


SOFT_STEP = 0.03  # per soft requirement met (+) or missed (−), on the 0..1 score
PREFERRED_BONUS = 0.08


def firm_certifications(firm: FirmDoc, offers: Sequence[SupplyOffer]) -> set[str]:
    certs = {cert_key(c) for o in offers for c in o.certifications}
    certs.update(cert_key(t) for t in firm.tags if _CERT_TAG.match(t))
    return certs


def evaluate(
    req: GapRequirement | None, firm: FirmDoc, region: Region, offers: Sequence[SupplyOffer], *, invests: bool
) -> Verdict:
    """``invests``: the firm's offer says it would set up in the region (then where it is now does
    not count against acceptable provinces or distance)."""
    verdict = Verdict()
    if req is None:
        return verdict
    soft = set(req.soft)
    if firm.id in req.excluded_firm_ids:
        verdict.excluded.append("链主排除（竞争对手等）")
        return verdict
    verdict.preferred = firm.id in req.preferred_firm_ids

    def judge(criterion: Criterion, ok: bool, met_label: str, failed_label: str) -> None:
        if ok:
            verdict.met.append(met_label)
        elif criterion.value in soft:
            verdict.missed_soft.append(failed_label)
        else:
            verdict.excluded.append(failed_label)

    if req.certifications:
        have = firm_certifications(firm, offers)
        for cert in req.certifications:
            judge(Criterion.CERTIFICATIONS, cert_key(cert) in have, cert, f"无 {cert}")
    if req.min_scale is not None:
        need = SCALE_ORDER.get(str(req.min_scale), 0)
        have_scale = SCALE_ORDER.get(firm.scale, -1)
        label = scale_label(req.min_scale)
        judge(Criterion.MIN_SCALE, have_scale >= need, f"规模不低于{label}", f"规模低于{label}或未知")
    if req.min_annual_capacity_cny is not None:
        capacity = max((o.annual_capacity_cny or 0.0 for o in offers), default=0.0)
        amount = cny(req.min_annual_capacity_cny)
        judge(
            Criterion.MIN_CAPACITY,
            capacity >= req.min_annual_capacity_cny,
            f"年供货能力不低于 {amount}",
            f"年供货能力未达 {amount}",
        )
    if req.provinces:
        ok = invests or firm.province in req.provinces
        judge(Criterion.PROVINCES, ok, "位于可接受地区", "不在可接受地区")
    if req.max_distance_km is not None:
        far = distance_km(firm.province, region.province)
        ok = invests or (far is not None and far <= req.max_distance_km)
        judge(
            Criterion.DISTANCE,
            ok,
            f"距离在 {req.max_distance_km} 公里内",
            f"距离超过 {req.max_distance_km} 公里",
        )
    return verdict


def exclusion_summary(counts: dict[str, int]) -> list[str]:
    """``["3 家企业被排除：无 IATF 16949"]``, most first."""
    return [
        f"{n} 家企业被排除：{label}" for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
