"""Multi-row inserts store exactly what Core's executemany stores: the same values, as the
dialect binds them (JSON, dates, enums), in the same order and so with the same ids."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from chainmatch.db import init_db, make_engine
from chainmatch.ingest import rows
from chainmatch.ingest.rows import insert_rows
from chainmatch.settings import Settings
from models.common import Scale
from models.firm import Firm, FirmProduct

FIRM_TABLE: Any = Firm.__table__  # type: ignore[attr-defined]
PRODUCT_TABLE: Any = FirmProduct.__table__  # type: ignore[attr-defined]


def fresh(path: Path) -> Engine:
    engine = make_engine(Settings(data_dir=path))
    init_db(engine)
    return engine


def firm_rows(n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    scales = list(Scale)
    return [
        {
            "id": f"F{i:04d}",
            "name": f"企业{i}",
            "fullname": None if i % 3 else f"企业{i}有限公司",
            "province": "广东省" if i % 2 else None,
            "country": "中国",
            "industry": [] if i % 4 else ["机械设备", f"通用设备{i}"],
            "scale": scales[i % len(scales)],
            "employees": None if i % 5 else i * 10,
            "revenue_cny": None if i % 7 else i * 1.5e6,
            "content_hash": f"{i:064x}",
            "revision": i // 100,
            "created_at": start + timedelta(seconds=i),
            "updated_at": start + timedelta(minutes=i),
            "deleted_at": None,
        }
        for i in range(n)
    ]


def product_rows(n_firms: int) -> list[dict[str, Any]]:
    return [
        {"firm_id": f"F{i:04d}", "position": j, "name": f"产品{i}-{j}", "share": None if j % 2 else 0.1 * j}
        for i in range(n_firms)
        for j in range(i % 9)
    ]


def write(engine: Engine, multi_row: bool) -> None:
    firms, products = firm_rows(300), product_rows(300)  # 300 x 14 and ~1,200 x 4 values: several chunks
    with Session(engine) as session:
        for table, dicts in ((FIRM_TABLE, firms), (PRODUCT_TABLE, products)):
            if multi_row:
                columns = list(dicts[0])
                insert_rows(session, table, columns, [tuple(d[c] for c in columns) for d in dicts])
            else:
                session.execute(insert(table), dicts)
        session.commit()


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table: [tuple(r) for r in connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY rowid")]
            for table in ("firm", "firm_product")
        }


def insert_sizes(engine: Any) -> list[int]:
    """The parameters of each INSERT ``engine`` runs from now on (appended as they run)."""
    sizes: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.startswith("INSERT"):
            sizes.append(len(params))

    return sizes


def test_multi_row_inserts_store_what_executemany_stores(tmp_path: Path) -> None:
    multi, core = fresh(tmp_path / "multi"), fresh(tmp_path / "core")
    statements = insert_sizes(multi)
    write(multi, multi_row=True)
    write(core, multi_row=False)
    stored = dump(multi)
    assert stored == dump(core)
    assert len(stored["firm"]) == 300 and len(stored["firm_product"]) == len(product_rows(300))
    assert all(n <= rows.MAX_PARAMETERS for n in statements)
    n_values = 300 * 14 + len(product_rows(300)) * 4
    assert sum(statements) == n_values and len(statements) < n_values / 200, "a few hundred rows a statement"


def test_a_driver_with_another_paramstyle_gets_core_executemany(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "_MARKS", {})
    fallback, core = fresh(tmp_path / "fallback"), fresh(tmp_path / "core")
    write(fallback, multi_row=True)
    write(core, multi_row=False)
    assert dump(fallback) == dump(core)


def test_statements_stay_under_the_databases_own_limit(tmp_path: Path) -> None:
    low, core = fresh(tmp_path / "low"), fresh(tmp_path / "core")

    @event.listens_for(low, "connect")
    def limit(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100)

    low.dispose()  # connections from now on carry the limit
    sizes = insert_sizes(low)
    write(low, multi_row=True)
    write(core, multi_row=False)
    assert dump(low) == dump(core)
    assert sizes and max(sizes) <= 100
