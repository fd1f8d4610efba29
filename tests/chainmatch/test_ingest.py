"""Ingest: good, bad, duplicate and mixed inputs; formats and encodings; nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from chainmatch.db import init_db, make_engine, read_state
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import UnreadableInput, parse_records
from chainmatch.ingest.relations import ingest_relations
from models.firm import Firm, FirmProduct, FirmTag
from models.relation import ProductRelation
from models.uscc import uscc_check_char, validate_uscc

GOOD = [
    {
        "id": "F1",
        "name": "华谱真空",
        "province": "粤",
        "city": "深圳",
        "products": [{"name": "涡轮分子泵", "share": 0.6}],
        "tags": ["专精特新", "小巨人"],
        "scale": "small",
    },
    {"id": "F2", "name": "苏州离子", "province": "江苏", "products": [{"name": "离子源", "share": 0.4}]},
]


def jsonl(records: list[dict]) -> bytes:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()


def count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_good_file_is_written_and_normalised(db: Engine) -> None:
    report = ingest_firms(db, parse_records(jsonl(GOOD))[0])
    assert (report.inserted, report.updated, report.invalid, report.written) == (2, 0, 0, True)
    with Session(db) as session:
        f1 = session.get(Firm, "F1")
        assert f1 is not None
        assert (f1.province, f1.city) == ("广东省", "深圳市")
        assert sorted(session.exec(select(FirmTag.tag).where(FirmTag.firm_id == "F1"))) == [
            "专精特新",
            "小巨人",
        ]
        assert session.get(Firm, "F2").province == "江苏省"  # type: ignore[union-attr]


def test_reimport_is_idempotent_and_does_not_bump_revision(db: Engine) -> None:
    ingest_firms(db, parse_records(jsonl(GOOD))[0])
    with Session(db) as session:
        before = read_state(session).revision
    report = ingest_firms(db, parse_records(jsonl(GOOD))[0])
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 2)
    with Session(db) as session:
        assert read_state(session).revision == before
        assert count(session, Firm) == 2
        assert count(session, FirmProduct) == 2


def test_update_replaces_products_and_tags(db: Engine) -> None:
    ingest_firms(db, parse_records(jsonl(GOOD))[0])
    changed = [dict(GOOD[0], products=[{"name": "磁悬浮分子泵", "share": 0.3}], tags=[])]
    report = ingest_firms(db, parse_records(jsonl(changed))[0])
    assert (report.inserted, report.updated) == (0, 1)
    with Session(db) as session:
        assert list(session.exec(select(FirmProduct.name).where(FirmProduct.firm_id == "F1"))) == [
            "磁悬浮分子泵"
        ]
        assert count(session, FirmTag) == 0


def test_mixed_file_writes_nothing_and_reports_every_bad_record(db: Engine) -> None:
    lines = [
        json.dumps(GOOD[0], ensure_ascii=False),
        "{not json",
        json.dumps({"id": "F3", "products": []}),  # no name
        json.dumps({"id": "F4", "name": "坏代码", "uscc": "91440300MA5DC0QX1A"}),  # bad check char
        json.dumps({"id": "F5", "name": "x", "employees": "many"}),
        json.dumps(GOOD[1], ensure_ascii=False),
    ]
    report = ingest_firms(db, parse_records("\n".join(lines).encode())[0])
    assert not report.written
    by_line = {(e.line, e.field) for e in report.errors}
    assert (2, None) in by_line
    assert (3, "name") in by_line
    assert (4, "uscc") in by_line
    assert (5, "employees") in by_line
    assert report.invalid == 4
    assert any("校验位" in e.message for e in report.errors if e.field == "uscc")
    with Session(db) as session:
        assert count(session, Firm) == 0  # nothing half-written


def test_skip_invalid_writes_the_valid_ones(db: Engine) -> None:
    lines = [json.dumps(GOOD[0], ensure_ascii=False), "[1, 2]", json.dumps(GOOD[1], ensure_ascii=False)]
    report = ingest_firms(db, parse_records("\n".join(lines).encode())[0], skip_invalid=True)
    assert report.written and report.inserted == 2 and report.invalid == 1
    assert report.errors[0].line == 2


def test_duplicate_ids_in_one_input_are_errors(db: Engine) -> None:
    report = ingest_firms(db, parse_records(jsonl([GOOD[0], GOOD[1], dict(GOOD[0], name="另一个")]))[0])
    assert not report.written
    assert [(e.line, e.id, e.field) for e in report.errors] == [(3, "F1", "id")]


def test_messy_shares_are_warnings_with_normalisation(db: Engine) -> None:
    record = {
        "id": "M1",
        "name": "分部公司",
        "products": [
            {"name": "特种气体", "share": 0.7},
            {"name": "特种气体", "share": 0.1},
            {"name": "分部间抵销", "share": -0.2},
            {"name": "电子材料", "share": 1.03},
        ],
    }
    report = ingest_firms(db, parse_records(jsonl([record]))[0])
    assert report.written and not report.errors
    assert len(report.warnings) >= 3 and all(w.id == "M1" and w.field == "products" for w in report.warnings)
    with Session(db) as session:
        rows = {n: s for n, s in session.exec(select(FirmProduct.name, FirmProduct.share))}
    assert "分部间抵销" not in rows
    assert set(rows) == {"特种气体", "电子材料"}
    assert all(0 <= (s or 0) <= 1 for s in rows.values())


def test_csv_gbk_and_bom_inputs(db: Engine) -> None:
    csv_text = (
        "id,name,province,products,tags,contact_name\n"
        "C1,佛山精密,广东,分子泵:0.5;机械泵:0.2,专精特新,李雷\n"
        "C2,ＭＲＩ線圈公司,上海,射頻線圈:0.9,,\n"
    )
    records, encoding = parse_records(csv_text.encode("gbk"), name="firms.csv")
    assert encoding == "gb18030"
    report = ingest_firms(db, records)
    assert report.inserted == 2, report.errors
    with Session(db) as session:
        c2 = session.get(Firm, "C2")
        # NFKC everywhere; traditional → simplified for products, not for registered names.
        assert c2 is not None and c2.name == "MRI線圈公司"
        products = session.exec(select(FirmProduct.name).where(FirmProduct.firm_id == "C2")).all()
        assert products == ["射频线圈"]
        assert session.get(Firm, "C1").contact_name == "李雷"  # type: ignore[union-attr]
    bom = b"\xef\xbb\xbf" + jsonl([GOOD[1]])
    assert parse_records(bom)[1] == "utf-8-sig"
    assert ingest_firms(db, parse_records(bom)[0]).unchanged == 0


def test_json_array_and_unreadable_inputs() -> None:
    records, _ = parse_records(json.dumps(GOOD, ensure_ascii=False).encode(), name="x.json")
    assert [r.data["id"] for r in records if r.data] == ["F1", "F2"]
    with pytest.raises(UnreadableInput):
        parse_records(b"[{broken", name="x.json")
    with pytest.raises(UnreadableInput):
        parse_records(b"\xff\xfe\x00\xd8\x00\x00garbage\x81", name="x.jsonl")
    assert parse_records(b"", name="empty.jsonl")[0] == []


def test_relations_dedupe_and_errors(db: Engine) -> None:
    rels = [
        {"product": "质谱仪", "relation": "upstream_material", "target": "分子泵"},
        {"product": "质谱仪", "relation": "upstream_material", "target": "分子泵"},
        {"product": "分子泵", "relation": "subclass", "target": "涡轮分子泵"},
    ]
    report = ingest_relations(db, parse_records(jsonl(rels))[0])
    assert (report.inserted, report.unchanged) == (2, 1)
    assert ingest_relations(db, parse_records(jsonl(rels))[0]).inserted == 0
    bad = ingest_relations(
        db, parse_records(jsonl([{"product": "a", "relation": "made_of", "target": "b"}]))[0]
    )
    assert not bad.written and bad.errors[0].field == "relation"
    with Session(db) as session:
        assert count(session, ProductRelation) == 2


def test_uscc_check_character() -> None:
    body = "91440300MA5DC0QX1"
    code = body + uscc_check_char(body)
    assert validate_uscc(code) is None
    wrong = body + ("0" if code[-1] != "0" else "1")
    assert validate_uscc(wrong) is not None
    assert validate_uscc("123") is not None
    assert "非法字符" in (validate_uscc("91440300MA5DC0QXIO") or "")


def test_chainkg_files_load_as_they_are(tmp_path: Path) -> None:
    from tests.conftest import chainkg_path, make_settings

    firms, relations = chainkg_path("firms.jsonl"), chainkg_path("product_relations.jsonl")
    db = make_engine(make_settings(tmp_path / "var"))
    init_db(db)
    report = ingest_firms(db, parse_records(firms.read_bytes(), name=firms.name)[0])
    assert report.written and not report.errors
    assert report.inserted == 4586
    assert len(report.warnings) > 700  # elimination lines, shares above 1, duplicates
    rel_report = ingest_relations(db, parse_records(relations.read_bytes(), name=relations.name)[0])
    assert rel_report.written and not rel_report.errors
    assert rel_report.inserted + rel_report.unchanged >= 100_000
    with Session(db) as session:
        assert count(session, Firm) == 4586
        assert min(s for s in session.exec(select(FirmProduct.share)) if s is not None) >= 0
