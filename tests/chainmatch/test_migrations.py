"""Alembic: from an empty database to head, step by step from every earlier schema, and head
matching the models exactly (on SQLite here, on PostgreSQL too when the suite runs there)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from chainmatch.db import MIGRATIONS_DIR, init_db, make_engine, migrate
from tests.conftest import make_settings


def revisions() -> list[str]:
    """Revision ids from the first to head."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_empty_database_to_head_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(make_settings(tmp_path / "var"))
    init_db(engine)
    init_db(engine)  # idempotent: a restart migrates nothing
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
        )
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == revisions()[-1]
    assert diff == [], diff
    assert {"firm", "firm_product", "gap_list", "api_key", "audit_event"} <= set(
        inspect(engine).get_table_names()
    )


def test_each_earlier_schema_upgrades_with_its_data(tmp_path: Path) -> None:
    history = revisions()
    assert history[0] == "0001" and (MIGRATIONS_DIR / "versions").is_dir()
    for index, start in enumerate(history):
        engine = make_engine(make_settings(tmp_path / f"var{index}"))
        migrate(engine, start)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO firm (id, name, country, industry, scale, content_hash, revision) "
                    "VALUES ('OLD-1', '旧企业', '中国', '[]', 'small', 'h', 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO firm_product (firm_id, position, name, share) "
                    "VALUES ('OLD-1', 0, '分子泵', 0.5)"
                )
            )
        init_db(engine)  # to head
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM firm WHERE id = 'OLD-1'")).scalar() == "旧企业"
            assert (
                conn.execute(text("SELECT name FROM firm_product WHERE firm_id = 'OLD-1'")).scalar()
                == "分子泵"
            )
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == history[-1]
        engine.dispose()
