"""A leader's gap lists on the dashboard (``/lists/new``, ``/lists/{id}``): one weak link a line, free
text as written, or a spreadsheet with a per-row report; each item's requirements; the list's
matches with both sides applied. A bureau of the list's region reads the same page (no editing);
no one else sees that the list exists."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.deps import SettingsDep
from api.web.common import (
    CallerDep,
    UserDep,
    check_csrf,
    common,
    domain,
    error_page,
    page,
    redirect,
    split_parts,
    validation_message,
)
from chainmatch.errors import ChainMatchError, NotFound
from chainmatch.services import gap_lists, match, requirements
from models.apikey import Role
from models.gap import GapItemCreate, GapListCreate, GapListUpdate
from models.requirement import Criterion, RequirementsUpdate

router = APIRouter(include_in_schema=False)

CRITERIA = {
    Criterion.CERTIFICATIONS.value: "资质认证",
    Criterion.MIN_SCALE.value: "最低规模",
    Criterion.MIN_CAPACITY.value: "年供货能力",
    Criterion.PROVINCES.value: "可接受地区",
    Criterion.DISTANCE.value: "最远距离",
}
LEADERS_ONLY = "仅链主企业可在此提交清单 (leaders only)"
NOT_FOUND = "清单不存在 (not found)"
MATCHES = 5  # candidates per list per weak link
ListId = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_\-]+$")]


@router.get("/lists/new", response_class=HTMLResponse)
def new_list_page(request: Request, user: UserDep) -> HTMLResponse:
    if user.role is not Role.LEADER:
        return error_page(request, user, LEADERS_ONLY)
    return page(
        "gaplist.html", **common(request, user, gl=None, result=None, requirements={}, criteria=CRITERIA)
    )


def _items(text: str) -> list[GapItemCreate]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return [GapItemCreate(name=line[:200]) for line in lines]


@router.post("/lists")
def save_list(
    user: UserDep,
    caller: CallerDep,
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
        raise HTTPException(status.HTTP_403_FORBIDDEN, LEADERS_ONLY)
    back = f"/lists/{list_id}" if list_id else "/lists/new"
    try:
        parsed = _items(items)
        if not parsed:
            return redirect(user, back, "未保存：items 至少一项 (at least one item)", "error")
        if len(parsed) > settings.max_gap_items:
            return redirect(user, back, f"未保存：items 最多 {settings.max_gap_items} 项", "error")
        if list_id:
            saved = gap_lists.revise(caller, list_id, GapListUpdate(title=title, items=parsed))
        else:
            saved = gap_lists.create(caller, GapListCreate(title=title, items=parsed))
    except ValidationError as exc:
        return redirect(user, back, "未保存：" + validation_message(exc), "error")
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from exc
    except ChainMatchError as exc:
        return redirect(user, back, "未保存：" + str(exc), "error")
    return redirect(user, f"/lists/{saved.id}", f"清单已保存（第 {saved.version} 版）")


@router.post("/lists/upload", response_class=HTMLResponse)
def upload_list(
    request: Request,
    user: UserDep,
    caller: CallerDep,
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
        return error_page(request, user, LEADERS_ONLY)
    data = file.file.read(settings.max_body_bytes + 1)
    try:
        report = gap_lists.upload(caller, data, file.filename or None, title=title)
    except (ChainMatchError, ValidationError) as exc:
        return error_page(request, user, f"未保存：{exc}", 422)
    gap_list_id = report.gap_list.id if report.written and report.gap_list else None
    code = 201 if gap_list_id else 422
    return page("sheet_report.html", code, **common(request, user, report=report, gap_list_id=gap_list_id))


@router.get("/lists/{list_id}", response_class=HTMLResponse)
def list_page(request: Request, list_id: ListId, user: UserDep, caller: CallerDep) -> HTMLResponse:
    """The list with both sides applied to its matches; requirements editable by its leader."""
    if user.role is Role.SUPPLIER:
        return error_page(request, user, NOT_FOUND, 404)

    def render_list() -> HTMLResponse:
        gap_list = gap_lists.find(caller, list_id)  # 404 for a list the caller may not see
        result = match.gap_list_matches(caller, list_id, k=MATCHES)
        stated = requirements.read(caller, list_id).requirements
        return page(
            "gaplist.html",
            **common(
                request,
                user,
                gl=gap_list,
                result=result,
                requirements={r.item: r for r in stated},
                criteria=CRITERIA,
                editable=user.role in (Role.LEADER, Role.ADMIN),
                items_text="\n".join(it.item.name for it in result.items),
            ),
        )

    return domain(request, user, render_list)


@router.post("/lists/{list_id}/requirements")
async def save_requirements(
    request: Request, list_id: ListId, user: UserDep, caller: CallerDep
) -> RedirectResponse:
    """One fieldset per item: ``req-<n>-<field>``; a line left empty means no requirement."""
    form = await request.form()
    check_csrf(user, str(form.get("csrf") or ""))
    target = f"/lists/{list_id}"
    if user.role not in (Role.LEADER, Role.ADMIN):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "招商局不能修改企业的清单 (bureaus cannot modify gap lists)"
        )
    try:
        names = requirements.item_names(caller, list_id)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from exc
    entries = []
    for n, name in enumerate(names):

        def get(field: str, n: int = n) -> str:
            return str(form.get(f"req-{n}-{field}") or "").strip()

        entry: dict[str, Any] = {
            "item": name,
            "certifications": split_parts(get("certifications")),
            "provinces": split_parts(get("provinces")),
            "excluded_firm_ids": split_parts(get("excluded_firm_ids")),
            "preferred_firm_ids": split_parts(get("preferred_firm_ids")),
            "soft": [c for c in CRITERIA if form.get(f"req-{n}-soft-{c}") == "on"],
            "min_scale": get("min_scale") or None,
            "max_distance_km": get("max_distance_km") or None,
            "min_annual_capacity_cny": get("min_annual_capacity_cny") or None,
        }
        if any(v for k, v in entry.items() if k not in ("item", "soft")):
            entries.append(entry)
    try:
        requirements.replace(caller, list_id, RequirementsUpdate.model_validate({"requirements": entries}))
    except ValidationError as exc:
        return redirect(user, target, "未保存：" + validation_message(exc), "error")
    except ChainMatchError as exc:
        return redirect(user, target, "未保存：" + str(exc), "error")
    return redirect(user, target, f"链主要求已保存（{len(entries)} 项）")
