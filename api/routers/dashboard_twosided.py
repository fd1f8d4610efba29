"""Dashboard pages for both sides of the match (cookie session, CSRF on every form):

- ``/offers`` — a supplier files and revises its supply offer (配套意愿); a bureau sees its region's
  firms' offers and registers one on a firm's behalf; admin sees all;
- ``/lists/new``, ``/lists/{id}`` — a leader creates and edits its gap list (one weak link a line,
  free text as written), sets each item's requirements and sees its matches with both sides
  applied; a bureau of the list's region reads the same page (no editing);
- ``/matchmaking`` (+ ``.xlsx``) — the region's (weak link × willing firm) pairs, a leader's own.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col

from api.audit import audit, record_list_reads
from api.deps import DbDep, IndexDep, SettingsDep
from api.downloads import attachment
from api.routers.dashboard import User, UserDep, _common, _with_msg, check_csrf, page
from chainmatch import offers as offers_mod
from chainmatch.chains.schemas import GapListRef
from chainmatch.db import writer
from chainmatch.errors import ChainError
from chainmatch.gaplists import (
    GapListError,
    create_list,
    get_visible,
    items_of,
    revise_list,
)
from chainmatch.gapsheet import parse_sheet
from chainmatch.matchmaking import invitation_xlsx, matchmaking_for
from chainmatch.offers import OfferError, OfferForbidden, OfferNotFound
from chainmatch.refresh import store_for
from chainmatch.requirements import RequirementError, replace_requirements, requirements_of
from chainmatch.twosided import context_for, recommend_both_sides
from models.apikey import Role
from models.gap import GapItemCreate
from models.offer import SupplyOffer, SupplyOfferCreate, SupplyOfferUpdate
from models.requirement import Criterion, RequirementsUpdate

router = APIRouter(include_in_schema=False)

SPLIT = re.compile(r"[、,，;；\n]+")
CRITERIA = {
    Criterion.CERTIFICATIONS.value: "资质认证",
    Criterion.MIN_SCALE.value: "最低规模",
    Criterion.MIN_CAPACITY.value: "年供货能力",
    Criterion.PROVINCES.value: "可接受地区",
    Criterion.DISTANCE.value: "最远距离",
}
ListId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")]


def _parts(text: str | None) -> list[str]:
    return [p.strip() for p in SPLIT.split(text or "") if p.strip()]


def _errors(exc: ValidationError) -> str:
    return "；".join(
        f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
    )[:280]


def _forbidden(request: Request, user: User, message: str, code: int = 403) -> HTMLResponse:
    return page("error.html", code, **_common(request, user, code=code, message=message))


# ------------------------------------------------------------------------------- offers
@router.get("/offers", response_class=HTMLResponse)
def offers_page(request: Request, user: UserDep, db: DbDep) -> HTMLResponse:
    if user.role is Role.LEADER:
        return _forbidden(
            request, user, "链主企业在匹配结果中查看配套意愿 (leaders see offers in their matches)"
        )
    with Session(db) as session:
        rows = session.exec(
            offers_mod.visible_offers(user.principal).order_by(col(SupplyOffer.updated_at).desc()).limit(200)
        ).all()
        offers = offers_mod.publics(session, rows)
    edit_id = request.query_params.get("edit")
    editing = next((o for o in offers if o.id == edit_id), None)
    return page(
        "offers.html",
        **_common(
            request,
            user,
            offers=offers,
            editing=editing,
            default_until=(date.today() + timedelta(days=365)).isoformat(),
            names_firm=user.role is not Role.SUPPLIER,
        ),
    )


@router.post("/offers")
def save_offer(
    user: UserDep,
    db: DbDep,
    csrf: Annotated[str, Form()],
    title: Annotated[str, Form(max_length=200)],
    products: Annotated[str, Form(max_length=4000)],
    valid_until: Annotated[str, Form(max_length=20)],
    offer_id: Annotated[str | None, Form(max_length=40)] = None,
    firm_id: Annotated[str | None, Form(max_length=64)] = None,
    capacity: Annotated[str | None, Form(max_length=200)] = None,
    annual_capacity_cny: Annotated[str | None, Form(max_length=40)] = None,
    lead_time_days: Annotated[str | None, Form(max_length=10)] = None,
    certifications: Annotated[str | None, Form(max_length=2000)] = None,
    supply_provinces: Annotated[str | None, Form(max_length=2000)] = None,
    invest_locally: Annotated[str | None, Form(max_length=10)] = None,
    invest_provinces: Annotated[str | None, Form(max_length=2000)] = None,
    contact_name: Annotated[str | None, Form(max_length=60)] = None,
    contact_phone: Annotated[str | None, Form(max_length=40)] = None,
    contact_email: Annotated[str | None, Form(max_length=200)] = None,
) -> RedirectResponse:
    """File (or, with ``offer_id``, revise) an offer. Bad values: back with the field named."""
    check_csrf(user, csrf)
    data: dict[str, Any] = {
        "title": title,
        "products": _parts(products),
        "valid_until": valid_until,
        "capacity": capacity or None,
        "annual_capacity_cny": annual_capacity_cny or None,
        "lead_time_days": lead_time_days or None,
        "certifications": _parts(certifications),
        "supply_provinces": _parts(supply_provinces),
        "invest_locally": invest_locally == "on",
        "invest_provinces": _parts(invest_provinces),
        "contact_name": contact_name or None,
        "contact_phone": contact_phone or None,
        "contact_email": contact_email or None,
    }
    try:
        with Session(writer(db)) as session:
            if offer_id:
                offer = offers_mod.get_visible(session, user.principal, offer_id)
                offers_mod.revise_offer(session, offer, SupplyOfferUpdate.model_validate(data))
                audit(session, user.principal, "update", "supply_offer", offer.id, version=offer.version)
                message = f"配套意愿已更新为第 {offer.version} 版"
            else:
                body = SupplyOfferCreate.model_validate({**data, "firm_id": firm_id or None})
                offer = offers_mod.create_offer(session, user.principal, body)
                audit(session, user.principal, "create", "supply_offer", offer.id)
                message = "配套意愿已登记"
            session.commit()
    except ValidationError as exc:
        return RedirectResponse(_with_msg(user, "/offers", "未保存：" + _errors(exc), "error"), 303)
    except (OfferError, OfferForbidden, OfferNotFound) as exc:
        return RedirectResponse(_with_msg(user, "/offers", "未保存：" + str(exc), "error"), 303)
    return RedirectResponse(_with_msg(user, "/offers", message), 303)


# ------------------------------------------------------------------------------- a leader's lists
@router.get("/lists/new", response_class=HTMLResponse)
def new_list_page(request: Request, user: UserDep) -> HTMLResponse:
    if user.role is not Role.LEADER:
        return _forbidden(request, user, "仅链主企业可在此提交清单 (leaders only)")
    return page(
        "gaplist.html", **_common(request, user, gl=None, result=None, requirements={}, criteria=CRITERIA)
    )


def _items(text: str) -> list[GapItemCreate]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [GapItemCreate(name=line[:200]) for line in lines]


@router.post("/lists")
def save_list(
    user: UserDep,
    db: DbDep,
    index: IndexDep,
    settings: SettingsDep,
    csrf: Annotated[str, Form()],
    title: Annotated[str, Form(max_length=200)],
    items: Annotated[str, Form(max_length=40_000)],
    list_id: Annotated[str | None, Form(max_length=40)] = None,
) -> RedirectResponse:
    """Create (or, with ``list_id``, revise) the leader's list: one weak link a line, as written;
    the sourcing facts each line states fill its fields, as through the API."""
    check_csrf(user, csrf)
    if user.role is not Role.LEADER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "仅链主企业可在此提交清单 (leaders only)")
    back = f"/lists/{list_id}" if list_id else "/lists/new"
    try:
        parsed = _items(items)
        if not parsed:
            return RedirectResponse(
                _with_msg(user, back, "未保存：items 至少一项 (at least one item)", "error"), 303
            )
        if len(parsed) > settings.max_gap_items:
            return RedirectResponse(
                _with_msg(user, back, f"未保存：items 最多 {settings.max_gap_items} 项", "error"), 303
            )
        with Session(writer(db)) as session, index.searching() as engine:
            if list_id:
                gap_list = get_visible(session, user.principal, list_id)
                if gap_list is None:
                    raise HTTPException(status.HTTP_404_NOT_FOUND, "清单不存在 (not found)")
                revise_list(
                    session, gap_list, title=title, region=None, items=parsed, understand=engine.understand
                )
                audit(session, user.principal, "update", "gap_list", gap_list.id)
            else:
                assert user.principal.firm_id is not None
                gap_list = create_list(
                    session,
                    leader_firm_id=user.principal.firm_id,
                    title=title,
                    region=None,
                    items=parsed,
                    understand=engine.understand,
                )
                audit(session, user.principal, "create", "gap_list", gap_list.id)
            target = f"/lists/{gap_list.id}"
            version = gap_list.version
            session.commit()
    except ValidationError as exc:
        return RedirectResponse(_with_msg(user, back, "未保存：" + _errors(exc), "error"), 303)
    except GapListError as exc:
        return RedirectResponse(_with_msg(user, back, "未保存：" + str(exc), "error"), 303)
    return RedirectResponse(_with_msg(user, target, f"清单已保存（第 {version} 版）"), 303)


@router.post("/lists/upload", response_class=HTMLResponse)
def upload_list(
    request: Request,
    user: UserDep,
    db: DbDep,
    index: IndexDep,
    settings: SettingsDep,
    csrf: Annotated[str, Form()],
    title: Annotated[str, Form(max_length=200)],
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """A leader's list from its spreadsheet (XLSX or CSV, as ``POST /v1/gap-lists/upload`` reads it):
    the per-row report — what each row was read as, what was filled from its text, what was not
    understood — and, when no row is bad, the list written. Any bad row: nothing written."""
    check_csrf(user, csrf)
    if user.role is not Role.LEADER:
        return _forbidden(request, user, "仅链主企业可在此提交清单 (leaders only)")
    data = file.file.read(settings.max_body_bytes + 1)
    with index.searching() as engine:
        report, items = parse_sheet(
            data, file.filename or None, engine.understand, max_items=settings.max_gap_items
        )
    gap_list_id = None
    if not report.errors:
        try:
            with Session(writer(db)) as session:
                assert user.principal.firm_id is not None
                gap_list = create_list(
                    session, leader_firm_id=user.principal.firm_id, title=title, region=None, items=items
                )
                audit(session, user.principal, "create", "gap_list", gap_list.id)
                gap_list_id = gap_list.id
                session.commit()
        except (GapListError, ValidationError) as exc:
            return _forbidden(request, user, f"未保存：{exc}", 422)
    code = 201 if gap_list_id else 422
    return page("sheet_report.html", code, **_common(request, user, report=report, gap_list_id=gap_list_id))


@router.get("/lists/{list_id}", response_class=HTMLResponse)
def list_page(
    request: Request, list_id: ListId, user: UserDep, db: DbDep, index: IndexDep, settings: SettingsDep
) -> HTMLResponse:
    """The list with both sides applied to its matches; requirements editable by its leader."""
    if user.role is Role.SUPPLIER:
        return _forbidden(request, user, "清单不存在 (not found)", 404)
    store = store_for(settings.data_dir, settings.ranker_path)
    model = store.current()
    with Session(db) as session:
        gap_list = get_visible(session, user.principal, list_id)
        if gap_list is None:
            return _forbidden(request, user, "清单不存在 (not found)", 404)
        items = items_of(session, gap_list)
        requirements = {r.item: r for r in requirements_of(session, gap_list)}
        with index.searching() as engine:
            ctx = context_for(session, engine, gap_list, items, model=model, role=user.role)
            result = recommend_both_sides(ctx, items, k=5, model_version=store.version(engine))
    record_list_reads(
        db,
        user.principal,
        "matches",
        [GapListRef(id=gap_list.id, version=gap_list.version)],
        route=f"GET /lists/{list_id}",
    )
    return page(
        "gaplist.html",
        **_common(
            request,
            user,
            gl=gap_list,
            result=result,
            requirements=requirements,
            criteria=CRITERIA,
            editable=user.role in (Role.LEADER, Role.ADMIN),
            items_text="\n".join(i.name for i in items),
        ),
    )


@router.post("/lists/{list_id}/requirements")
async def save_requirements(request: Request, list_id: ListId, user: UserDep, db: DbDep) -> RedirectResponse:
    """One fieldset per item: ``req-<n>-<field>``; a line left empty means no requirement."""
    form = await request.form()
    check_csrf(user, str(form.get("csrf") or ""))
    target = f"/lists/{list_id}"
    if user.role not in (Role.LEADER, Role.ADMIN):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "招商局不能修改企业的清单 (bureaus cannot modify gap lists)"
        )
    with Session(writer(db)) as session:
        gap_list = get_visible(session, user.principal, list_id)
        if gap_list is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "清单不存在 (not found)")
        items = items_of(session, gap_list)
        entries = []
        for n, item in enumerate(items):

            def get(name: str, n: int = n) -> str:
                return str(form.get(f"req-{n}-{name}") or "").strip()

            entry: dict[str, Any] = {
                "item": item.name,
                "certifications": _parts(get("certifications")),
                "provinces": _parts(get("provinces")),
                "excluded_firm_ids": _parts(get("excluded_firm_ids")),
                "preferred_firm_ids": _parts(get("preferred_firm_ids")),
                "soft": [c for c in CRITERIA if form.get(f"req-{n}-soft-{c}") == "on"],
                "min_scale": get("min_scale") or None,
                "max_distance_km": get("max_distance_km") or None,
                "min_annual_capacity_cny": get("min_annual_capacity_cny") or None,
            }
            if any(v for k, v in entry.items() if k not in ("item", "soft")):
                entries.append(entry)
        try:
            body = RequirementsUpdate.model_validate({"requirements": entries})
            replace_requirements(session, gap_list, items, body, user.principal.key_id)
        except ValidationError as exc:
            return RedirectResponse(_with_msg(user, target, "未保存：" + _errors(exc), "error"), 303)
        except RequirementError as exc:
            return RedirectResponse(_with_msg(user, target, "未保存：" + str(exc), "error"), 303)
        audit(
            session, user.principal, "update_requirements", "gap_list", gap_list.id, version=gap_list.version
        )
        session.commit()
    return RedirectResponse(_with_msg(user, target, f"链主要求已保存（{len(entries)} 项）"), 303)


# ------------------------------------------------------------------------------- matchmaking
def _matchmaking(user: User, db: Any, index: Any, settings: Any, region: str | None, city: str | None) -> Any:
    store = store_for(settings.data_dir, settings.ranker_path)
    with Session(db) as session:
        return matchmaking_for(session, index, store, user.principal, region=region, city=city, k=20)


@router.get("/matchmaking", response_class=HTMLResponse)
def matchmaking_page(
    request: Request,
    user: UserDep,
    db: DbDep,
    index: IndexDep,
    settings: SettingsDep,
    region: Annotated[str | None, Query(max_length=40)] = None,
    city: Annotated[str | None, Query(max_length=60)] = None,
) -> HTMLResponse:
    if user.role is Role.SUPPLIER:
        return _forbidden(request, user, "该页面仅限招商局与链主企业 (bureaus and leaders only)")
    try:
        result, refs = _matchmaking(user, db, index, settings, region, city)
    except ChainError as exc:
        return _forbidden(request, user, str(exc), 422 if "region" in str(exc) else 403)
    record_list_reads(db, user.principal, "matchmaking", refs, route="GET /matchmaking")
    query = "&".join(f"{k}={v}" for k, v in (("region", region), ("city", city)) if v)
    return page("matchmaking.html", **_common(request, user, result=result, query=query))


@router.get("/matchmaking.xlsx")
def matchmaking_download(
    user: UserDep,
    db: DbDep,
    index: IndexDep,
    settings: SettingsDep,
    region: Annotated[str | None, Query(max_length=40)] = None,
    city: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    if user.role is Role.SUPPLIER:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "该页面仅限招商局与链主企业 (bureaus and leaders only)"
        )
    result, refs = _matchmaking(user, db, index, settings, region, city)
    record_list_reads(db, user.principal, "matchmaking", refs, route="GET /matchmaking.xlsx")
    return attachment(
        invitation_xlsx(result),
        "matchmaking.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
