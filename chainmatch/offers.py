"""Supply offers (配套意愿): create, revise (new version, old one kept), delete, bulk import, and who
may see which; and matching an offer to a weak-link item.

Who sees what (part of every query, never a filter after loading):

- a supplier: its own firm's offers, nothing else;
- a bureau: the offers of firms in its region (a city bureau: its city's), which it may also
  register and revise on the firm's behalf; willing firms elsewhere reach it through matchmaking;
- admin: all. Leaders have no access to offers as such: a matching offer marks a candidate in
  their matches.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import false
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from chainmatch.errors import OfferError, OfferForbidden, OfferNotFound
from chainmatch.keys import Principal
from chainmatch.offermatch import today
from models import mapping
from models.apikey import Role
from models.common import utcnow
from models.firm import Firm
from models.offer import (
    SupplyOffer,
    SupplyOfferCreate,
    SupplyOfferPublic,
    SupplyOfferRevision,
    SupplyOfferUpdate,
)
from models.regions import normalize_province
from recommender.text import normalize_text


# ------------------------------------------------------------------------------ visibility
def visible_offers(principal: Principal) -> SelectOfScalar[SupplyOffer]:
    query = select(SupplyOffer).where(col(SupplyOffer.deleted_at).is_(None))
    if principal.role is Role.ADMIN:
        return query
    if principal.role is Role.SUPPLIER:
        return query.where(SupplyOffer.firm_id == principal.firm_id)
    if principal.role is Role.BUREAU:
        local = select(Firm.id).where(Firm.country == "中国", Firm.province == principal.province)
        if principal.city:
            local = local.where(Firm.city == principal.city)
        return query.where(col(SupplyOffer.firm_id).in_(local))
    return query.where(false())


def check_may_use_offers(principal: Principal) -> None:
    if principal.role is Role.LEADER:
        raise OfferForbidden(
            "链主企业不能查看或登记配套意愿，匹配结果中会标注 (leaders see offers only as marks in their matches)"
        )


def get_visible(session: Session, principal: Principal, offer_id: str) -> SupplyOffer:
    check_may_use_offers(principal)
    offer = session.exec(visible_offers(principal).where(SupplyOffer.id == offer_id)).first()
    if offer is None:
        raise OfferNotFound("配套意愿不存在 (supply offer not found)")
    return offer


def _live_firm(session: Session, firm_id: str) -> Firm:
    firm = session.get(Firm, firm_id)
    if firm is None or firm.deleted_at is not None:
        raise OfferError(f"firm_id: 企业 {firm_id} 不存在 (firm not found)")
    return firm


def firm_for_new_offer(session: Session, principal: Principal, firm_id: str | None) -> Firm:
    """The firm an offer is submitted for: a supplier's own; a bureau's names a firm in its
    region; admin names any."""
    check_may_use_offers(principal)
    if principal.role is Role.SUPPLIER:
        if firm_id not in (None, principal.firm_id):
            raise OfferForbidden("配套企业只能为本企业登记意愿 (a supplier submits only for its own firm)")
        assert principal.firm_id is not None
        return _live_firm(session, principal.firm_id)
    if not firm_id:
        raise OfferError("firm_id: 请指定企业 (name the firm the offer is for)")
    firm = _live_firm(session, firm_id)
    if principal.role is Role.BUREAU and not (
        firm.country == "中国"
        and firm.province == principal.province
        and (principal.city is None or firm.city == principal.city)
    ):
        raise OfferForbidden(
            "firm_id: 招商局只能为本辖区企业登记配套意愿 (a bureau registers offers for firms in its region)"
        )
    return firm


# ------------------------------------------------------------------------------ writes
def _normalised_lists(body: SupplyOfferCreate | SupplyOfferUpdate) -> dict[str, Any]:
    data = body.model_dump(exclude={"firm_id"})
    for name in ("supply_provinces", "invest_provinces"):
        data[name] = list(dict.fromkeys(p for p in (normalize_province(x) for x in data[name]) if p))
    for name in ("products", "certifications", "target_chain_ids", "target_leader_ids"):
        data[name] = list(dict.fromkeys(data[name]))
    return data


def create_offer(
    session: Session, principal: Principal, body: SupplyOfferCreate, *, firm: Firm | None = None
) -> SupplyOffer:
    firm = firm or firm_for_new_offer(session, principal, body.firm_id)
    offer = SupplyOffer(
        id=f"so_{secrets.token_urlsafe(12)}",
        firm_id=firm.id,
        created_by_key_id=principal.key_id or None,
        **_normalised_lists(body),
    )
    session.add(offer)
    session.flush()
    return offer


def revise_offer(session: Session, offer: SupplyOffer, body: SupplyOfferUpdate) -> SupplyOffer:
    """Keep the current version as a revision, then replace every field; the version goes up."""
    snapshot = to_public(offer, session.get(Firm, offer.firm_id)).model_dump(mode="json")
    session.add(SupplyOfferRevision(offer_id=offer.id, version=offer.version, snapshot=snapshot))
    for name, value in _normalised_lists(body).items():
        setattr(offer, name, value)
    offer.version += 1
    offer.updated_at = utcnow()
    session.add(offer)
    session.flush()
    return offer


def delete_offer(session: Session, offer: SupplyOffer) -> None:
    offer.deleted_at = utcnow()
    session.add(offer)


def revisions_of(session: Session, offer: SupplyOffer) -> list[SupplyOfferRevision]:
    return list(
        session.exec(
            select(SupplyOfferRevision)
            .where(SupplyOfferRevision.offer_id == offer.id)
            .order_by(col(SupplyOfferRevision.version))
        )
    )


def is_valid(offer: SupplyOffer, on: date | None = None) -> bool:
    return offer.deleted_at is None and offer.valid_until >= (on or today())


def to_public(offer: SupplyOffer, firm: Firm | None) -> SupplyOfferPublic:
    return mapping.to_public(
        SupplyOfferPublic,
        offer,
        firm_name=firm.name if firm else offer.firm_id,
        firm_province=firm.province if firm else None,
        firm_city=firm.city if firm else None,
        valid=is_valid(offer),
    )


def publics(session: Session, offers: Sequence[SupplyOffer]) -> list[SupplyOfferPublic]:
    ids = {o.firm_id for o in offers}
    firms = {f.id: f for f in session.exec(select(Firm).where(col(Firm.id).in_(ids)))} if ids else {}
    return [to_public(o, firms.get(o.firm_id)) for o in offers]


# ------------------------------------------------------------------------------ bulk import
# Spreadsheet headers → fields (English field names are accepted as they are).
HEADERS: dict[str, str] = {
    "企业": "firm_id",
    "企业id": "firm_id",
    "企业编号": "firm_id",
    "企业代码": "firm_id",
    "标题": "title",
    "名称": "title",
    "意愿名称": "title",
    "产品": "products",
    "可供产品": "products",
    "配套产品": "products",
    "说明": "description",
    "描述": "description",
    "产能": "capacity",
    "年供货能力": "annual_capacity_cny",
    "年供货能力(元)": "annual_capacity_cny",
    "交货周期": "lead_time_days",
    "交货周期(天)": "lead_time_days",
    "认证": "certifications",
    "资质认证": "certifications",
    "供货地区": "supply_provinces",
    "可供货省份": "supply_provinces",
    "愿意本地设厂": "invest_locally",
    "愿意设厂": "invest_locally",
    "设厂地区": "invest_provinces",
    "意向产业链": "target_chain_ids",
    "意向链主": "target_leader_ids",
    "联系人": "contact_name",
    "电话": "contact_phone",
    "联系电话": "contact_phone",
    "邮箱": "contact_email",
    "有效期": "valid_until",
    "有效期至": "valid_until",
}
LIST_FIELDS = frozenset(
    {
        "products",
        "certifications",
        "supply_provinces",
        "invest_provinces",
        "target_chain_ids",
        "target_leader_ids",
    }
)
_SPLIT = re.compile(r"[、;；\n|]+")
_YES = {"是", "愿意", "yes", "y", "true", "1", "可以"}
_NO = {"否", "不愿意", "no", "n", "false", "0", ""}


@dataclass
class ImportIssue:
    row: int
    field: str | None
    message: str


@dataclass
class ImportReport:
    received: int = 0
    valid: int = 0
    written: int = 0
    offer_ids: list[str] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)


def _field_of(header: str) -> str:
    key = normalize_text(header).lower().replace(" ", "").replace("（", "(").replace("）", ")")
    if key in SupplyOfferCreate.model_fields:
        return key
    return HEADERS.get(key, HEADERS.get(re.sub(r"\(.*\)$", "", key), key))


def coerce_cells(raw: dict[str, Any]) -> dict[str, Any]:
    """Spreadsheet cells → a record: headers to fields, list cells split on 、；; and new lines,
    是/否 to booleans, dates as ISO text, empty cells left out."""
    record: dict[str, Any] = {}
    for header, value in raw.items():
        if header is None or value is None:
            continue
        name = _field_of(str(header))
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        if isinstance(value, date):
            value = value.isoformat()[:10]
        if name in LIST_FIELDS and isinstance(value, str):
            value = [p.strip() for p in _SPLIT.split(value) if p.strip()]
        elif name == "invest_locally" and isinstance(value, str):
            low = value.lower()
            value = True if low in _YES else False if low in _NO else value
        elif name in ("lead_time_days",) and isinstance(value, float) and value.is_integer():
            value = int(value)
        record[name] = value
    return record


def read_rows(data: bytes, name: str | None) -> list[tuple[int, dict[str, Any]]]:
    """(row number as a spreadsheet shows it, cells by header) of an XLSX (first sheet), CSV, JSON
    array or JSON lines file. A file with no record is an error, not an import of nothing."""
    from chainmatch.ingest.readers import UnreadableInput

    rows = _read_rows(data, name)
    if not rows:
        raise UnreadableInput("文件中没有任何记录 (the file holds no records)")
    return rows


def _read_rows(data: bytes, name: str | None) -> list[tuple[int, dict[str, Any]]]:
    from chainmatch.ingest.readers import Format, UnreadableInput, decode, parse_records

    if data[:2] == b"PK":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise UnreadableInput(f"无法读取 XLSX 文件 (unreadable XLSX): {type(exc).__name__}") from exc
        sheet = book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        book.close()
        if not rows:
            raise UnreadableInput("表格为空 (the sheet is empty)")
        headers = [str(h).strip() if h is not None else "" for h in rows[0]]
        out = []
        for number, row in enumerate(rows[1:], start=2):
            cells = {h: v for h, v in zip(headers, row, strict=False) if h}
            if any(v not in (None, "") for v in cells.values()):
                out.append((number, cells))
        return out
    text, _ = decode(data)
    stripped = text.lstrip()
    if (name and name.lower().endswith(".csv")) or not stripped.startswith(("{", "[")):
        reader = csv.DictReader(io.StringIO(text))
        return [
            (reader.line_num, dict(row)) for row in reader if any((v or "").strip() for v in row.values())
        ]
    records, _ = parse_records(data, fmt=Format.JSON if stripped.startswith("[") else Format.JSONL)
    out = []
    for rec in records:
        if rec.data is None:
            raise UnreadableInput(f"第 {rec.line} 行: {rec.problem}")
        out.append((rec.line, rec.data))
    return out


def _issues(row: int, exc: ValidationError) -> list[ImportIssue]:
    out = []
    for err in exc.errors(include_url=False, include_context=False):
        loc = ".".join(str(x) for x in err["loc"]) or None
        out.append(ImportIssue(row, loc, f"{loc}: {err['msg']}" if loc else err["msg"]))
    return out


def import_offers(
    session: Session,
    principal: Principal,
    rows: Iterable[tuple[int, dict[str, Any]]],
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Bulk import (admin): every row validated as ``POST /v1/supply-offers`` would; with any bad
    row nothing is written unless ``skip_invalid``. Each row makes a new offer."""
    report = ImportReport()
    good: list[tuple[SupplyOfferCreate, Firm]] = []
    for number, raw in rows:
        report.received += 1
        try:
            body = SupplyOfferCreate.model_validate(coerce_cells(raw))
        except ValidationError as exc:
            report.errors.extend(_issues(number, exc))
            continue
        try:
            firm = firm_for_new_offer(session, principal, body.firm_id)
        except (OfferError, OfferForbidden) as exc:
            report.errors.append(ImportIssue(number, "firm_id", str(exc)))
            continue
        good.append((body, firm))
    report.valid = len(good)
    if dry_run or (report.errors and not skip_invalid):
        return report
    for body, firm in good:
        report.offer_ids.append(create_offer(session, principal, body, firm=firm).id)
    report.written = len(report.offer_ids)
    return report
