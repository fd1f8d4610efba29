"""Ingest benchmark: chainkg's 4,586 firms and 110k product relations through the real importer.

Prints, in one run, ChainMatch's importer (validation + normalisation + batched core upserts in one
transaction) beside a peer: the same validated records written the plain ORM way (one
``session.add`` per firm, product and tag), which is what a first version of such a service does.
Then the same files end to end as a user runs them: ``chainmatch import relations`` and
``chainmatch import firms`` in fresh processes (reading, writing, building every index channel and
saving it to disk) on a fresh SQLite file, unless ``--no-cli`` or ``--database-url``.

``--http FIRMS.jsonl`` measures instead the data platform's path over real HTTP: a `chainmatch
serve` on a prepared data dir of those firms (bench/_server.py; the 100k corpus is bench/synth.py's),
then ``--batches`` calls of `POST /v1/firms` with 1,000 new firms each, and the time until they are
searchable: the clock stops when a `POST /v1/match` after the last call has answered (a search
catches the index up first), and `/readyz` must then count every new firm as indexed.

    python -m bench.ingest [--database-url URL] [--no-cli]
    python -m bench.ingest --http bench/out/synth_100k.jsonl [--batches 5] [--py-spy OUT.svg]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

from bench._data import chainkg_dir
from chainmatch.db import init_db, make_engine
from chainmatch.ingest.firms import ingest_firms, validate_firms
from chainmatch.ingest.readers import parse_records
from chainmatch.ingest.relations import ingest_relations
from chainmatch.settings import Settings
from models.common import utcnow
from models.firm import Firm, FirmProduct, FirmTag


def fresh_settings(base: Path, name: str, database_url: str | None) -> Settings:
    return Settings(data_dir=base / name, database_url=database_url)


def orm_peer(settings: Settings, path: Path) -> tuple[float, int]:
    db = make_engine(settings)
    init_db(db)
    started = time.perf_counter()
    validated = validate_firms(parse_records(path.read_bytes(), name=path.name)[0])
    with Session(db) as session:
        for item in validated.firms:
            rec = item.record
            row = rec.model_dump(exclude={"products", "tags", "contact"})
            session.add(Firm(**row, content_hash=item.content_hash, revision=1, created_at=utcnow()))
            for i, p in enumerate(rec.products):
                session.add(FirmProduct(firm_id=rec.id, position=i, name=p.name, share=p.share))
            for t in rec.tags:
                session.add(FirmTag(firm_id=rec.id, tag=t))
        session.commit()
    seconds = time.perf_counter() - started
    db.dispose()
    return seconds, len(validated.firms)


def cli_import(data_dir: Path, kind: str, path: Path) -> float:
    """Seconds for ``chainmatch import KIND PATH`` in a fresh process (index build and save
    included), on a fresh SQLite file in ``data_dir``."""
    cli = shutil.which("chainmatch") or str(Path(sys.executable).with_name("chainmatch"))
    env = {k: v for k, v in os.environ.items() if k != "CHAINMATCH_DATABASE_URL"}
    env["CHAINMATCH_DATA_DIR"] = str(data_dir)
    started = time.perf_counter()
    subprocess.run([cli, "import", kind, str(path)], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file per run")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI imports")
    parser.add_argument("--http", type=Path, default=None, help="firms file: measure POST /v1/firms")
    parser.add_argument("--batches", type=int, default=5, help="--http: calls of 1,000 new firms")
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="--http: profile the server to this file (.svg, .txt raw, .json)",
    )
    args = parser.parse_args()
    if args.http:
        from bench.ingest_http import run_http

        run_http(args.http, batches=args.batches, py_spy=args.py_spy)
        return
    firms_path = chainkg_dir() / "firms.jsonl"
    relations_path = chainkg_dir() / "product_relations.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        settings = fresh_settings(base, "chainmatch", args.database_url)
        db = make_engine(settings)
        init_db(db)
        started = time.perf_counter()
        firm_report = ingest_firms(db, parse_records(firms_path.read_bytes(), name=firms_path.name)[0])
        firm_seconds = time.perf_counter() - started
        started = time.perf_counter()
        rel_report = ingest_relations(
            db, parse_records(relations_path.read_bytes(), name=relations_path.name)[0]
        )
        rel_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = ingest_firms(db, parse_records(firms_path.read_bytes(), name=firms_path.name)[0])
        again_seconds = time.perf_counter() - started
        db.dispose()
        peer_seconds, peer_n = orm_peer(fresh_settings(base, "peer", args.database_url), firms_path)
        cli_rows = []
        if args.database_url and not args.no_cli:
            # The CLI stage needs an empty database of its own: on a reused one it would time
            # upserts of unchanged records.
            print("CLI stage skipped: it runs on a fresh SQLite file only (no --database-url)")
        elif not args.no_cli:
            cli_dir = base / "cli"
            rel_cli = cli_import(cli_dir, "relations", relations_path)
            firm_cli = cli_import(cli_dir, "firms", firms_path)
            cli_rows = [
                ("CLI `chainmatch import relations` (+ index, save)", rel_report.received, rel_cli),
                ("CLI `chainmatch import firms` (+ index build, save)", firm_report.received, firm_cli),
            ]

    backend = "PostgreSQL" if args.database_url else "SQLite (WAL)"
    print(f"ingest of chainkg on {backend}")
    print(f"{'what':<52} {'records':>8} {'seconds':>8} {'records/s':>10}")
    rows = [
        ("ChainMatch import firms (validate+normalise+upsert)", firm_report.inserted, firm_seconds),
        ("ChainMatch re-import firms (all unchanged)", again.unchanged, again_seconds),
        ("ChainMatch import relations", rel_report.inserted + rel_report.unchanged, rel_seconds),
        ("peer: same records, one ORM session.add per row", peer_n, peer_seconds),
        *cli_rows,
    ]
    for what, n, seconds in rows:
        print(f"{what:<52} {n:>8} {seconds:>8.2f} {n / seconds:>10.0f}")
    print(
        f"warnings on firms (messy segment data, normalised): {len(firm_report.warnings)}; errors: "
        f"{len(firm_report.errors)}"
    )


if __name__ == "__main__":
    main()
