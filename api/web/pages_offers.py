"""Supply offers (配套意愿) on the dashboard: a supplier files and revises its own; a bureau sees its
region's firms' offers and registers one on a firm's behalf; admin sees all. Leaders see offers
only inside their matches."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api.web.common import (
    CallerDep,
    UserDep,
    check_csrf,
    common,
    error_page,
    page,
    redirect,
    split_parts,
    validation_message,
)
from chainmatch.errors import ChainMatchError
from chainmatch.services import offers
from models.apikey import Role
from models.offer import SupplyOfferCreate, SupplyOfferUpdate

router = APIRouter(include_in_schema=False)


@router.get("/offers", response_class=HTMLResponse)
def offers_page(request: Request, user: UserDep, caller: CallerDep) -> HTMLResponse:
    if user.role is Role.LEADER:
        return error_page(
            request, user, "链主企业在匹配结果中查看配套意愿 (leaders see offers in their matches)"
        )
    shown = offers.latest(caller, limit=200)
    edit_id = request.query_params.get("edit")
    editing = next((o for o in shown if o.id == edit_id), None)
    return page(
        "offers.html",
        **common(
            request,
            user,
            offers=shown,
            editing=editing,
            default_until=(date.today() + timedelta(days=365)).isoformat(),
            names_firm=user.role is not Role.SUPPLIER,
        ),
    )


@router.post("/offers")
def save_offer(
    user: UserDep,
    caller: CallerDep,
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
        "products": split_parts(products),
        "valid_until": valid_until,
        "capacity": capacity or None,
        "annual_capacity_cny": annual_capacity_cny or None,
        "lead_time_days": lead_time_days or None,
        "certifications": split_parts(certifications),
        "supply_provinces": split_parts(supply_provinces),
        "invest_locally": invest_locally == "on",
        "invest_provinces": split_parts(invest_provinces),
        "contact_name": contact_name or None,
        "contact_phone": contact_phone or None,
        "contact_email": contact_email or None,
    }
    try:
        if offer_id:
            revised = offers.revise(caller, offer_id, SupplyOfferUpdate.model_validate(data))
            message = f"配套意愿已更新为第 {revised.version} 版"
        else:
            offers.create(caller, SupplyOfferCreate.model_validate({**data, "firm_id": firm_id or None}))
            message = "配套意愿已登记"
    except ValidationError as exc:
        return redirect(user, "/offers", "未保存：" + validation_message(exc), "error")
    except ChainMatchError as exc:  # not visible to the caller, refused by the rules of offers
        return redirect(user, "/offers", "未保存：" + str(exc), "error")
    return redirect(user, "/offers", message)
