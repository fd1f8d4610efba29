"""Direct effects of recorded outreach outcomes on a region's recommendations.

- a firm that declined an item recently (``DECLINE_WINDOW``) is lowered for that item, with the
  reason the bureau recorded;
- a signed (weak link, firm) pair is done: shown as such, never recommended again for that item.

Outcomes are matched to weak-link items by the item's product name (the outreach record's
``product``) within the list's region; a city's records count for the province-wide list too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from models.common import utcnow
from models.outreach import OutreachRecord, Stage
from recommender.corpus import Region
from recommender.text import normalize_key

DECLINE_WINDOW = timedelta(days=365)
DECLINE_PENALTY = 0.15


@dataclass(frozen=True)
class Outcome:
    record_id: int
    stage: Stage
    at: datetime
    reason: str | None

    def declined_reason(self, *, with_reason: bool = True) -> str:
        when = self.at.date().isoformat()
        if with_reason and self.reason:
            return f"近期已放弃对接（{when}）：{self.reason}"
        return f"近期已放弃对接（{when}）"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=utcnow().tzinfo)


def outcomes_in(
    session: Session, region: Region, products: Iterable[str], *, now: datetime | None = None
) -> dict[tuple[str, str], Outcome]:
    """(product key, firm id) → the signed or recently declined outcome in ``region``."""
    keys = {normalize_key(p) for p in products}
    keys.discard("")
    if not keys:
        return {}
    query = select(OutreachRecord).where(
        OutreachRecord.region_province == region.province,
        col(OutreachRecord.stage).in_([Stage.SIGNED, Stage.DECLINED]),
    )
    if region.city is not None:
        query = query.where(
            col(OutreachRecord.region_city).in_([region.city]) | col(OutreachRecord.region_city).is_(None)
        )
    cutoff = (now or utcnow()) - DECLINE_WINDOW
    out: dict[tuple[str, str], Outcome] = {}
    for record in session.exec(query.order_by(col(OutreachRecord.stage_changed_at))):
        key = normalize_key(record.product)
        if key not in keys or record.id is None:
            continue
        at = _aware(record.stage_changed_at)
        if record.stage is Stage.DECLINED and at < cutoff:
            continue
        current = out.get((key, record.firm_id))
        if current is not None and current.stage is Stage.SIGNED:
            continue  # signed is final
        out[(key, record.firm_id)] = Outcome(record.id, Stage(record.stage), at, record.decline_reason)
    return out
