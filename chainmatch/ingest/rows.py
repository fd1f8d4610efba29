"""Many rows into one table as multi-row ``INSERT ... VALUES (...), (...)`` statements.

An ``executemany`` of N rows makes the sqlite3 driver release and re-take the GIL around every
row's step. In the server a bulk call's write runs beside the index catch-up thread, which holds
the GIL in pure Python; every re-take then waits for it, and inserting 5,000 firms' ~60k product
rows took ~2.5 s there against ~0.56 s alone (py-spy, bench/ingest.py --http). One statement per
thousands of rows binds them in one call and runs the database's work in one stretch. The rows,
their order (and so their ids) and the transaction are the same as an ``executemany``.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session

# Parameters per statement, at most: fewer statements are fewer GIL re-takes (beside a busy
# thread, 1,000 firms written in ~0.9 s with 30k a statement, ~1.1 s with 990). SQLite's own
# limit applies when lower (32,766 since 3.32, 999 before); PostgreSQL allows 65,535.
MAX_PARAMETERS = 30_000
_OLD_SQLITE_PARAMETERS = 999
_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # positional markers by DB-API paramstyle


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in ``columns``' order) into ``table`` inside the session's
    transaction; a driver with another paramstyle gets Core's ``executemany``."""
    if not rows:
        return
    connection = session.connection()
    mark = _MARKS.get(connection.dialect.paramstyle)
    if mark is None:
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    dialect = connection.dialect
    # Values as Core would bind them (JSON text, dates as the dialect stores them, enum names).
    processors = [
        (i, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for i, c in enumerate(columns)
    ]
    processors = [(i, p) for i, p in processors if p is not None]
    if processors:
        rows = [_processed(row, processors) for row in rows]
    quote = dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    per = max(1, _max_parameters(connection) // len(columns))
    full = head + ", ".join([one] * per)  # the same text for every full chunk
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = full if len(chunk) == per else head + ", ".join([one] * len(chunk))
        connection.exec_driver_sql(sql, tuple(itertools.chain.from_iterable(chunk)))


def _max_parameters(connection: Any) -> int:
    if connection.dialect.name != "sqlite":
        return MAX_PARAMETERS
    getlimit = getattr(connection.connection.dbapi_connection, "getlimit", None)  # Python 3.11+
    if getlimit is None:
        return _OLD_SQLITE_PARAMETERS
    return min(MAX_PARAMETERS, int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)))


def _processed(row: tuple[Any, ...], processors: list[tuple[int, Any]]) -> tuple[Any, ...]:
    values = list(row)
    for i, process in processors:
        values[i] = process(values[i])
    return tuple(values)
