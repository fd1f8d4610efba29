"""Fuzzed import files (OWASP API4): whatever bytes arrive, the importer answers with per-record
errors that name the line (and field), or with one clear whole-file error — never a crash — and a
file with any error writes nothing.

Hypothesis builds files from valid firm records and the corruptions real feeds contain: broken JSON
lines, wrong types, huge fields, non-objects, duplicate ids, blank lines, a BOM, GBK encoding,
stray bytes, empty files. Each example is imported into the same real database, whose content must
change only when the importer says it wrote.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chainmatch.db import init_db, make_engine
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import UnreadableInput, parse_records
from models.firm import Firm, FirmProduct
from tests.conftest import make_settings

PROVINCES = ["广东省", "广东", "粤", "江苏省", "浙江", "上海市", "香港", "火星省"]
PRODUCTS = ["涡轮分子泵", "离子源", "光电倍增管", "高纯石英", "ＰＣＢ板", "分部间抵销", "精密轴承"]


def firm_ids() -> st.SearchStrategy[str]:
    return st.sampled_from([f"FZ-{i}" for i in range(40)])


@st.composite
def valid_firm(draw: st.DrawFn) -> dict[str, Any]:
    products = draw(
        st.lists(
            st.fixed_dictionaries(
                {"name": st.sampled_from(PRODUCTS)},
                optional={"share": st.one_of(st.floats(-0.5, 1.2), st.none())},
            ),
            max_size=4,
        )
    )
    return {
        "id": draw(firm_ids()),
        "name": draw(st.sampled_from(["华谱真空", "苏州离子", "乾照光电", "ＡＢＣ精密"])),
        "province": draw(st.sampled_from(PROVINCES)),
        "products": products,
        "tags": draw(st.lists(st.sampled_from(["专精特新", "小巨人", "listed"]), max_size=3)),
        "scale": draw(st.sampled_from(["micro", "small", "medium", "large", "unknown"])),
    }


# A wrong value for a field: wrong type, out of range, or far too long.
WRONG_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(st.none(), st.just(""), st.just("坏 id"), st.just("x" * 200), st.just([1])),
    "name": st.one_of(st.none(), st.just(""), st.just("名" * 5000), st.integers(), st.just({"a": 1})),
    "province": st.one_of(st.integers(), st.just(["广东"]), st.just("省" * 500)),
    "products": st.one_of(
        st.just("涡轮分子泵"),
        st.just([{"share": 0.5}]),
        st.just([{"name": "泵", "share": "很多"}]),
        st.just([{"name": "泵" * 1000}]),
        st.just([{"name": "泵"}] * 500),
    ),
    "scale": st.one_of(st.just("huge"), st.integers()),
    "employees": st.one_of(st.just(-3), st.just("十个"), st.floats(allow_nan=True)),
    "uscc": st.just("91440300MA5DXXXXXX"),
    "unknown_field": st.just("mass assignment"),
    "description": st.just("长" * 20_000),
}


@st.composite
def broken_firm(draw: st.DrawFn) -> dict[str, Any]:
    record = draw(valid_firm())
    field = draw(st.sampled_from(sorted(WRONG_VALUES)))
    record[field] = draw(WRONG_VALUES[field])
    return record


# Valid lines dominate, as in real feeds, so that clean files (which must be written) occur too.
LINE_KINDS = ["valid"] * 6 + ["broken", "bad_json", "not_object", "blank"]


@st.composite
def import_file(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """(the file's bytes, the kind of each line)."""
    kinds = draw(st.lists(st.sampled_from(LINE_KINDS), max_size=8))
    lines: list[str] = []
    for kind in kinds:
        if kind == "valid":
            lines.append(json.dumps(draw(valid_firm()), ensure_ascii=False))
        elif kind == "broken":
            lines.append(json.dumps(draw(broken_firm()), ensure_ascii=False))
        elif kind == "bad_json":
            good = json.dumps(draw(valid_firm()), ensure_ascii=False)
            lines.append(good[: draw(st.integers(1, len(good) - 1))])
        elif kind == "not_object":
            lines.append(draw(st.sampled_from(["[1, 2]", '"字符串"', "42", "null"])))
        else:
            lines.append(draw(st.sampled_from(["", "   ", "\t"])))
    text = "\n".join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
        data += b"\xff\xfe\x00\x81"  # stray bytes: valid in neither UTF-8 nor, as a tail, in GB18030
    return data, kinds


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    db = make_engine(make_settings(tmp_path_factory.mktemp("fuzz") / "var"))
    init_db(db)
    yield db
    db.dispose()


def snapshot(db: Engine) -> str:
    """A digest of every live firm with its products: equal digests, equal registries."""
    with Session(db) as session:
        firms = session.exec(
            select(Firm.id, Firm.name, Firm.province, Firm.deleted_at).order_by(col(Firm.id))
        )
        products = session.exec(
            select(FirmProduct.firm_id, FirmProduct.position, FirmProduct.name, FirmProduct.share).order_by(
                col(FirmProduct.firm_id), col(FirmProduct.position)
            )
        )
        return hashlib.sha256(repr((list(firms), list(products))).encode()).hexdigest()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(example=import_file())
def test_fuzzed_import_files_are_all_or_nothing_with_located_errors(
    engine: Engine, example: tuple[bytes, list[str]]
) -> None:
    data, kinds = example
    event(
        "file",
        "empty"
        if all(k == "blank" for k in kinds)
        else ("clean" if set(kinds) <= {"valid", "blank"} else "dirty"),
    )
    before = snapshot(engine)
    try:
        records, _ = parse_records(data, name="firms.jsonl")
    except UnreadableInput as exc:
        assert "UTF-8" in str(exc) or "GB18030" in str(exc)
        assert snapshot(engine) == before
        return
    report = ingest_firms(engine, records)
    event("outcome", "written" if report.written else "rejected")
    assert report.received == len(records) == sum(1 for k in kinds if k != "blank")
    for issue in report.errors:
        assert issue.message
        assert (issue.line is not None and issue.line >= 1) or not records, issue
    if report.errors:
        assert not report.written
        assert snapshot(engine) == before, "a file with errors changed the registry"
    if not records:
        assert report.errors, "an empty file must be reported, not silently accepted"
    if "bad_json" in kinds or "not_object" in kinds:
        assert report.errors
    if report.written:
        with Session(engine) as session:
            for record in records:
                assert record.data is not None
                assert session.get(Firm, str(record.data["id"])) is not None
