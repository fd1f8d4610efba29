"""The outreach forms (招商跟踪): shortlist a candidate under a chain node, move a record along the
pipeline. Each needs the session's CSRF token and ends in a redirect with a status message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Response

from api.web.common import BureauUserDep, CallerDep, check_csrf, redirect, safe_next
from chainmatch.errors import ChainMatchError
from chainmatch.services import outreach
from models.gap import RegionIn
from models.outreach import STAGE_LABELS, OutreachCreate, Stage, StageChange

router = APIRouter(include_in_schema=False)

NextField = Annotated[str, Form(max_length=500)]


@router.post("/outreach")
def shortlist(
    user: BureauUserDep,
    caller: CallerDep,
    csrf: Annotated[str, Form(max_length=100)],
    chain_id: Annotated[str, Form(max_length=64)],
    node_id: Annotated[str, Form(max_length=64)],
    product: Annotated[str, Form(max_length=200)],
    firm_id: Annotated[str, Form(max_length=64)],
    for_product: Annotated[str, Form(max_length=200)] = "",
    region: Annotated[str, Form(max_length=40)] = "",
    city: Annotated[str, Form(max_length=60)] = "",
    rank: Annotated[int | None, Form(ge=1)] = None,
    score: Annotated[float | None, Form()] = None,
    next: NextField = "/pipeline",
) -> Response:
    check_csrf(user, csrf)
    target = safe_next(next)
    try:
        body = OutreachCreate(
            chain_id=chain_id,
            node_id=node_id,
            product=product,
            for_product=for_product or None,
            firm_id=firm_id,
            region=RegionIn(province=region, city=city or None) if region else None,
            rank=rank,
            score=score,
        )
        record = outreach.create_record(caller, body)
    except (ChainMatchError, ValueError) as exc:  # a domain error, or a value the model refuses
        return redirect(user, target, str(exc).splitlines()[0], "error")
    return redirect(user, target, f"已将 {record.firm_name} 加入跟踪（{product}）")


@router.post("/outreach/{record_id}/stage")
def move_stage(
    record_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: BureauUserDep,
    caller: CallerDep,
    csrf: Annotated[str, Form(max_length=100)],
    stage: Annotated[Stage, Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    version: Annotated[int | None, Form()] = None,
    next: NextField = "/pipeline",
) -> Response:
    check_csrf(user, csrf)
    target = safe_next(next)
    try:
        change = StageChange(stage=stage, reason=reason or None, note=note or None, expected_version=version)
        outreach.change_stage(caller, record_id, change)
    except (ChainMatchError, ValueError) as exc:
        return redirect(user, target, str(exc).splitlines()[0], "error")
    return redirect(user, target, f"记录 {record_id} → {STAGE_LABELS[stage]}")
