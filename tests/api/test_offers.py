"""Supply offers (配套意愿): the supplier role, versions, who sees which, bulk import (API, CLI, XLSX)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from tests.twosided_world import LOCAL, OTHER, TWIN_A, TWIN_B, World, cli_env, make_world, offer_body


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from make_world(tmp_path_factory.mktemp("offers"))


def test_supplier_submits_its_own_offer_and_revises_it_as_a_new_version(world: World) -> None:
    with world.client("supplier_a") as c:
        created = c.post("/v1/supply-offers", json=offer_body(invest_provinces=["粤", "广东省"]))
        assert created.status_code == 201, created.text
        offer = created.json()
        assert (offer["firm_id"], offer["version"], offer["valid"]) == (TWIN_A, 1, True)
        assert offer["invest_provinces"] == ["广东省"]  # normalised, deduplicated
        revised = c.put(f"/v1/supply-offers/{offer['id']}", json=offer_body(capacity="年产 8000 台"))
        assert revised.status_code == 200, revised.text
        assert (revised.json()["version"], revised.json()["capacity"]) == (2, "年产 8000 台")
        history = c.get(f"/v1/supply-offers/{offer['id']}/revisions").json()
        assert [h["version"] for h in history] == [1]
        assert history[0]["snapshot"]["capacity"] == "年产 5000 台"
        mine = c.get("/v1/supply-offers").json()["items"]
        assert {o["firm_id"] for o in mine} == {TWIN_A}
        # another firm's id in the body: 403; server fields: 422
        assert c.post("/v1/supply-offers", json=offer_body(firm_id=TWIN_B)).status_code == 403
        assert c.post("/v1/supply-offers", json={**offer_body(), "version": 3}).status_code == 422


def test_supplier_never_sees_another_firms_offers(world: World) -> None:
    with world.client("supplier_b") as c:
        theirs = c.post("/v1/supply-offers", json=offer_body()).json()["id"]
    with world.client("supplier_a") as c:
        assert c.get(f"/v1/supply-offers/{theirs}").status_code == 404
        assert c.put(f"/v1/supply-offers/{theirs}", json=offer_body()).status_code == 404
        assert c.delete(f"/v1/supply-offers/{theirs}").status_code == 404
        assert theirs not in {
            o["id"] for o in c.get("/v1/supply-offers", params={"limit": 200}).json()["items"]
        }
        assert c.get("/v1/supply-offers", params={"firm_id": TWIN_B}).json()["items"] == []


def test_bureau_registers_for_local_firms_only_and_sees_its_regions_offers(world: World) -> None:
    with world.client("bureau_gd") as c:
        local = c.post("/v1/supply-offers", json=offer_body(firm_id=LOCAL))
        assert local.status_code == 201, local.text
        outside = c.post("/v1/supply-offers", json=offer_body(firm_id=OTHER))
        assert outside.status_code == 403 and "firm_id" in outside.json()["detail"]
        seen = {o["firm_id"] for o in c.get("/v1/supply-offers", params={"limit": 200}).json()["items"]}
        assert seen == {LOCAL}
    with world.client("bureau_js") as c:  # TWIN-A and TWIN-B are in 江苏省
        seen = {o["firm_id"] for o in c.get("/v1/supply-offers", params={"limit": 200}).json()["items"]}
        assert LOCAL not in seen and seen <= {TWIN_A, TWIN_B}
        assert c.get(f"/v1/supply-offers/{local.json()['id']}").status_code == 404


def test_leaders_have_no_access_to_offers(world: World) -> None:
    with world.client("leader_a") as c:
        assert c.get("/v1/supply-offers").status_code == 403
        assert c.post("/v1/supply-offers", json=offer_body(firm_id=LOCAL)).status_code == 403


def test_invalid_values_name_the_field(world: World) -> None:
    with world.client("supplier_a") as c:
        for field, value in (
            ("valid_until", 0),
            ("annual_capacity_cny", "inf"),
            ("lead_time_days", -1),
            ("products", []),
            ("title", "  "),
        ):
            response = c.post("/v1/supply-offers", json=offer_body(**{field: value}))
            assert response.status_code == 422, (field, response.text)
            assert field in response.text, field
        nan = c.post(
            "/v1/supply-offers",
            content=json.dumps(offer_body()).replace("20000000.0", "NaN"),
            headers={"content-type": "application/json"},
        )
        assert nan.status_code == 422


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


HEADER = [
    "企业",
    "标题",
    "可供产品",
    "产能",
    "交货周期(天)",
    "资质认证",
    "愿意本地设厂",
    "设厂地区",
    "有效期至",
]


def test_admin_bulk_import_from_a_spreadsheet_all_or_nothing(world: World) -> None:
    good = [
        OTHER,
        "浙星意愿",
        "星际齿轮泵、齿轮泵配件",
        "年产2万台",
        45,
        "IATF 16949；ISO 9001",
        "是",
        "广东",
        "2099-01-01",
    ]
    bad = ["NO-SUCH", "坏行", "星际齿轮泵", "", "", "", "否", "", "2099-01-01"]
    data = _xlsx([HEADER, good, bad])
    files = {"file": ("offers.xlsx", data, "application/octet-stream")}
    with world.client("bureau_gd") as c:
        assert c.post("/v1/supply-offers/import", files=files).status_code == 403
    with world.client("admin") as c:
        refused = c.post("/v1/supply-offers/import", files=files)
        assert refused.status_code == 422, refused.text
        assert refused.json()["written"] == 0
        assert [(e["row"], e["field"]) for e in refused.json()["errors"]] == [(3, "firm_id")]
        before = c.get("/v1/supply-offers", params={"firm_id": OTHER}).json()["items"]
        assert before == []
        ok = c.post("/v1/supply-offers/import", files=files, params={"skip_invalid": "true"})
        assert ok.status_code == 201, ok.text
        assert ok.json()["written"] == 1
        offer = c.get("/v1/supply-offers", params={"firm_id": OTHER}).json()["items"][0]
    assert offer["products"] == ["星际齿轮泵", "齿轮泵配件"]
    assert offer["certifications"] == ["IATF 16949", "ISO 9001"]
    assert (offer["invest_locally"], offer["invest_provinces"], offer["lead_time_days"]) == (
        True,
        ["广东省"],
        45,
    )


def test_cli_imports_offers_and_lists_them(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import typer

    from chainmatch.cli.offers import offers_app

    app = typer.Typer()
    app.add_typer(offers_app, name="offers")  # as chainmatch/cli.py registers it
    path = tmp_path / "offers.csv"
    path.write_text(
        "firm_id,title,products,valid_until,certifications\n"
        f"{LOCAL},命令行导入,星际齿轮泵,2099-06-30,ISO 13485\n",
        encoding="utf-8",
    )
    with cli_env(world, monkeypatch):
        runner = CliRunner()
        dry = runner.invoke(app, ["offers", "import", str(path), "--dry-run"])
        assert dry.exit_code == 0, dry.output
        result = runner.invoke(app, ["offers", "import", str(path)])
        assert result.exit_code == 0, result.output
        assert "1" in result.output
        listing = runner.invoke(app, ["offers", "list", "--firm", LOCAL])
        assert listing.exit_code == 0 and "命令行导入" in listing.output
        bad = tmp_path / "bad.csv"
        bad.write_text("firm_id,title,products,valid_until\nNO-SUCH,x,y,2099-01-01\n", encoding="utf-8")
        refused = runner.invoke(app, ["offers", "import", str(bad)])
        assert refused.exit_code == 1 and "firm_id" in refused.output


def test_the_chainmatch_command_has_offers_and_ranker_refresh() -> None:
    from chainmatch.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["offers", "--help"]).exit_code == 0
    assert "import" in runner.invoke(app, ["offers", "--help"]).output
    assert runner.invoke(app, ["ranker", "refresh", "--help"]).exit_code == 0
