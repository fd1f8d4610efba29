"""Gap lists from spreadsheets (issue 9, part 5): XLSX and CSV through ``POST /v1/gap-lists/upload`` and
``chainmatch gaps import``: column mapping (incl. one free-text column), the per-row report, bad rows
(row number as Excel shows it, column, nothing written), GBK CSV. XLSX files are built here with
openpyxl; no binary fixture is committed."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from chainmatch.gapsheet import parse_sheet
from chainmatch.settings import Settings
from recommender.understanding import Sourcing, Understanding
from tests.conftest import World, load_sample, make_settings, sample_leaders
from tests.servers import Server

CLI = shutil.which("chainmatch") or str(Path(sys.executable).with_name("chainmatch"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADER = [
    "序号",
    "物料名称",
    "用途",
    "技术参数",
    "进口占比",
    "主要来源国",
    "年采购额（万元）",
    "风险等级",
    "备注",
]
ROWS = [
    [1, "离子源", "三重四极杆质谱仪", "电喷雾，长寿命", "70%", "日本", 3000, "高", None],
    [2, "用于质谱仪的光电倍增管，依赖德国进口，进口占比约80%", None, None, None, None, None, 4, None],
    [3, "分子泵", "质谱仪", "抽速≥300 L/s", 0.92, "德国", "4200万元", 5, "磁悬浮优先"],
]


def workbook(rows: list[list[Any]], *, title: str | None = "谱锐仪器断链断供风险清单") -> bytes:
    """An XLSX as leaders keep it: a title row, the header, one weak link a row."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "风险清单"
    if title:
        sheet.append([title])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------------- the reader alone
def fake_understand(text: str, description: str | None = None) -> Understanding:
    """A stand-in for Recommender.understand: reads 日本 and 进口占比N% — enough to see the filling."""
    whole = " ".join(x for x in (text, description) if x)
    share = 0.6 if "进口占比60%" in whole else None
    countries = ("日本",) if "日本" in whole else ()
    return Understanding(
        text=text,
        product=text.split(",")[0].split("，")[0],
        via="mention",
        confidence=0.3 if "?" in text else 0.9,
        sourcing=Sourcing(import_dependent=bool(countries), countries=countries, import_share=share),
    )


def test_columns_numbers_and_units_are_read_as_leaders_write_them() -> None:
    data = workbook(ROWS)
    report, items = parse_sheet(data, "清单.xlsx", fake_understand, max_items=200)
    assert not report.errors, report.errors
    assert report.sheet == "风险清单" and report.header_row == 2
    assert report.columns["物料名称"] == "name" and report.columns["年采购额（万元）"] == "annual_demand_cny"
    assert report.ignored_columns == []  # 序号 is known and skipped; 备注 is the description
    assert [r.row for r in report.rows] == [3, 4, 5]
    first, second, third = items
    assert (
        first.name == "离子源" and first.for_product == "三重四极杆质谱仪" and first.spec == "电喷雾,长寿命"
    )
    assert first.import_share == 0.7 and first.current_source_country == "日本"
    assert first.annual_demand_cny == 30_000_000 and first.risk_level == 4
    assert second.risk_level == 4 and second.import_share is None
    assert third.import_share == 0.92 and third.annual_demand_cny == 42_000_000 and third.risk_level == 5
    assert third.description == "磁悬浮优先"


def test_a_single_free_text_column_and_english_headers() -> None:
    csv_text = "短板描述\n离子源，依赖日本进口，进口占比60%\n高精度光栅尺?\n"
    report, items = parse_sheet(csv_text.encode("utf-8"), "x.csv", fake_understand, max_items=200)
    assert not report.errors, report.errors
    assert report.columns == {"短板描述": "text"}
    assert [i.name for i in items] == ["离子源,依赖日本进口,进口占比60%", "高精度光栅尺?"]
    assert items[0].current_source_country == "日本" and items[0].import_share == 0.6
    assert report.rows[0].filled_from_text == ["current_source_country", "import_share"]
    assert report.low_confidence_rows == [3] and report.rows[1].not_understood

    headerless = "用于质谱仪的离子源，依赖日本进口\n四极杆，单一供应商\n"
    report, items = parse_sheet(headerless.encode("utf-8"), "y.csv", fake_understand, max_items=200)
    assert not report.errors and [r.row for r in report.rows] == [1, 2] and len(items) == 2

    english = "Product,Used in,Import share (%),Source country,Annual demand (CNY),Risk level\nPMT,质谱仪,65,Japan,1500000,high\n"
    report, items = parse_sheet(english.encode("utf-8"), "z.csv", fake_understand, max_items=200)
    assert not report.errors, report.errors
    assert items[0].name == "PMT" and items[0].for_product == "质谱仪" and items[0].import_share == 0.65
    assert items[0].current_source_country == "Japan" and items[0].annual_demand_cny == 1_500_000
    assert items[0].risk_level == 4


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        ({4: "很多"}, "进口占比", "数字"),
        ({4: "150%"}, "进口占比", "0–100%"),
        ({4: -0.2}, "进口占比", "0–100%"),
        ({1: None, 2: "质谱仪"}, "物料名称", "名称为空"),
        ({1: "离" * 201}, "物料名称", "过长"),
        ({7: 9}, "风险等级", "1–5"),
        ({6: "很贵"}, "年采购额（万元）", "金额"),
    ],
)
def test_a_bad_row_is_named_by_its_row_and_column(cells: dict[int, Any], column: str, words: str) -> None:
    bad = [list(r) for r in ROWS]
    for index, value in cells.items():
        bad[1][index] = value  # the second weak link: 第4行 under the title row and the header
    report, items = parse_sheet(workbook(bad), "bad.xlsx", fake_understand, max_items=200)
    assert items == []
    assert [(e.row, e.column) for e in report.errors] == [(4, column)], report.errors
    assert words in report.errors[0].message


def test_unreadable_files_and_too_many_rows_are_refused_whole() -> None:
    for data, name, words in (
        (b"PK\x03\x04 not really a zip", "x.xlsx", "XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old", "x.xls", ".xls"),
        (b"", "x.csv", "为空"),
        ("名称\n".encode("utf-16-le"), "x.csv", "编码"),
        ("甲,乙,丙\n1,2,3\n".encode(), "x.csv", "表头"),
        ("名称,描述\n".encode(), "x.csv", "没有数据行"),
    ):
        report, items = parse_sheet(data, name, fake_understand, max_items=200)
        assert items == [] and report.errors, name
        assert words in report.errors[0].message, (name, report.errors)
    many = "名称\n" + "".join(f"离子源{i}\n" for i in range(6))
    report, items = parse_sheet(many.encode(), "many.csv", fake_understand, max_items=5)
    assert items == [] and [(e.row, e.column) for e in report.errors] == [(7, None)]
    assert "最多 5 项" in report.errors[0].message


# ------------------------------------------------------------------------------- API
pytestmark = pytest.mark.world()  # the `world` fixture: the sample cluster, in process


def upload(c: Any, data: bytes, name: str, mime: str = XLSX, **form: str) -> Any:
    return c.post(
        "/v1/gap-lists/upload", files={"file": (name, data, mime)}, data={"title": "上传清单", **form}
    )


def list_count(server: Server, key: str) -> int:
    with server.client(key) as c:
        return len(c.get("/v1/gap-lists", params={"limit": 200}).json()["items"])


def test_upload_xlsx_reports_each_row_and_stores_the_list(world: World) -> None:
    server, keys = world
    with server.client(keys.leader_a) as c:
        response = upload(c, workbook(ROWS), "风险清单.xlsx")
        assert response.status_code == 201, response.text
        report = response.json()
        assert report["written"] is True and report["errors"] == []
        rows = {r["row"]: r for r in report["rows"]}
        assert sorted(rows) == [3, 4, 5]
        assert rows[3]["understood_as"]["product"] == "离子源"
        sentence = rows[4]
        assert sentence["understood_as"]["product"] == "光电倍增管"
        assert sentence["understood_as"]["for_product"] == "质谱仪"
        assert (
            sentence["item"]["current_source_country"] == "德国" and sentence["item"]["import_share"] == 0.8
        )
        assert set(sentence["filled_from_text"]) == {"current_source_country", "import_share"}
        assert sentence["name"].startswith("用于质谱仪的光电倍增管")  # stored as written
        stored = c.get(f"/v1/gap-lists/{report['gap_list']['id']}").json()
        assert [i["name"] for i in stored["items"]] == [rows[n]["name"] for n in (3, 4, 5)]
        assert stored["items"][0]["annual_demand_cny"] == 30_000_000
        assert stored["leader_firm_id"] == keys.leader_a_firm and stored["title"] == "上传清单"
        recs = c.get(f"/v1/gap-lists/{stored['id']}/recommendations", params={"k": 3}).json()
        assert recs["items"][1]["understood_as"]["product"] == "光电倍增管"

        dry = c.post(
            "/v1/gap-lists/upload",
            params={"dry_run": "true"},
            files={"file": ("a.xlsx", workbook(ROWS), XLSX)},
            data={"title": "试运行"},
        )
        assert dry.status_code == 200 and dry.json()["written"] is False and dry.json()["gap_list"] is None
        assert "试运行" not in [g["title"] for g in c.get("/v1/gap-lists").json()["items"]]

        other = upload(c, workbook(ROWS), "x.xlsx", leader_firm_id=keys.leader_b_firm)
        assert other.status_code == 403
    with server.client(keys.admin) as c:
        assert upload(c, workbook(ROWS), "x.xlsx").status_code == 422  # admin names the leader
        by_admin = upload(c, workbook(ROWS), "x.xlsx", leader_firm_id=keys.leader_b_firm, region="广东")
        assert by_admin.status_code == 201, by_admin.text
        assert by_admin.json()["gap_list"]["region_province"] == "广东省"
    with server.client(keys.bureau_gd) as c:
        assert upload(c, workbook(ROWS), "x.xlsx").status_code == 403


def test_upload_csv_free_text_and_gbk(world: World) -> None:
    server, keys = world
    text = "短板描述\n用于质谱仪的离子源，主要依赖日本进口，进口占比约70%\nPMT\n"
    with server.client(keys.leader_a) as c:
        for encoding, expected in (("utf-8", "utf-8-sig"), ("gbk", "gb18030")):
            response = upload(c, text.encode(encoding), f"走访记录-{encoding}.csv", "text/csv")
            assert response.status_code == 201, response.text
            report = response.json()
            assert report["encoding"] == expected and report["columns"] == {"短板描述": "text"}
            first, second = report["rows"]
            assert (first["row"], second["row"]) == (2, 3)
            assert first["understood_as"]["product"] == "离子源"
            assert first["item"]["current_source_country"] == "日本" and first["item"]["import_share"] == 0.7
            assert second["understood_as"]["product"] == "光电倍增管"
            assert second["understood_as"]["via"] == "alias"


def test_a_bad_row_writes_nothing_and_says_where(world: World) -> None:
    server, keys = world
    before = list_count(server, keys.leader_a)
    bad = [list(r) for r in ROWS]
    bad[2][4] = "约一半"  # 第5行, 进口占比
    with server.client(keys.leader_a) as c:
        response = upload(c, workbook(bad), "bad.xlsx")
        assert response.status_code == 422, response.text
        report = response.json()
        assert report["written"] is False and report["gap_list"] is None
        assert [(e["row"], e["column"]) for e in report["errors"]] == [(5, "进口占比")]
        unreadable = upload(c, b"PK\x03\x04garbage", "bad.xlsx")
        assert unreadable.status_code == 422 and unreadable.json()["errors"][0]["row"] is None
        too_many = "名称\n" + "".join(f"离子源{i}\n" for i in range(205))
        many = upload(c, too_many.encode(), "many.csv", "text/csv")
        assert many.status_code == 422 and many.json()["errors"][0]["row"] == 202
        assert upload(c, workbook(ROWS), "x.xlsx", title="  ").status_code == 422
    assert list_count(server, keys.leader_a) == before


# ------------------------------------------------------------------------------- CLI
def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CHAINMATCH_DATA_DIR=str(settings.data_dir), COLUMNS="250")
    if settings.database_url:
        env["CHAINMATCH_DATABASE_URL"] = settings.database_url
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=600)


def test_cli_imports_xlsx_and_gbk_csv_with_a_per_row_report(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var")
    load_sample(settings, index=True)  # fitted once per session: each CLI call loads it
    leader = sample_leaders()[0]
    sheet = tmp_path / "风险清单.xlsx"
    sheet.write_bytes(workbook(ROWS))

    missing = cli(settings, "gaps", "import", str(sheet))
    assert missing.returncode == 2 and "--leader" in missing.stderr

    out = cli(settings, "gaps", "import", str(sheet), "--leader", leader, "--title", "CLI清单")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "第3行" in out.stdout and "第5行" in out.stdout and "光电倍增管" in out.stdout
    assert "已写入" in out.stdout and "已创建" in out.stdout
    again = cli(settings, "gaps", "import", str(sheet), "--leader", leader, "--title", "CLI清单")
    assert again.returncode == 0 and "未变" in again.stdout

    as_json = cli(settings, "gaps", "import", str(sheet), "--leader", leader, "--title", "CLI清单", "--json")
    report = json.loads(as_json.stdout)
    assert [r["row"] for r in report["rows"]] == [3, 4, 5]
    assert report["rows"][1]["understood_as"]["product"] == "光电倍增管"

    gbk = tmp_path / "走访.csv"
    gbk.write_bytes("名称,说明\n离子源,主要依赖日本进口，进口占比约70%\n".encode("gbk"))
    out = cli(settings, "gaps", "import", str(gbk), "--leader", leader, "--title", "GBK清单")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "日本" in out.stdout and "第2行" in out.stdout

    bad = [list(r) for r in ROWS]
    bad[0][4] = "不详"  # 第3行
    bad_sheet = tmp_path / "bad.xlsx"
    bad_sheet.write_bytes(workbook(bad))
    failed = cli(settings, "gaps", "import", str(bad_sheet), "--leader", leader, "--title", "坏清单")
    assert failed.returncode == 1
    assert "第3行" in failed.stderr and "进口占比" in failed.stderr
    assert "未写入" in failed.stdout

    from sqlmodel import Session, select

    from chainmatch.db import make_engine
    from models.gap import GapList

    db = make_engine(settings)
    with Session(db) as session:
        titles = sorted(
            gl.title for gl in session.exec(select(GapList).where(GapList.leader_firm_id == leader))
        )
    db.dispose()
    assert "坏清单" not in titles and {"CLI清单", "GBK清单"} <= set(titles)
