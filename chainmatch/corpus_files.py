"""The engine's corpus for a pair of import files, exactly as the service would hold it.

Benchmarks and ranker training must see the firms the API serves, not a second reading of the
files: the records go through the real importer (validation, NFKC, province aliases, segment-share
clean-up) into a throw-away SQLite database and are read back by :mod:`chainmatch.corpus_loader`,
the loader the index service uses.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from sqlmodel import Session

from chainmatch.corpus_loader import load_firm_docs, load_relations
from chainmatch.db import init_db, make_engine
from chainmatch.errors import CorpusFileError
from chainmatch.ingest.firms import ingest_firms
from chainmatch.ingest.readers import parse_records
from chainmatch.ingest.relations import ingest_relations
from chainmatch.settings import Settings
from recommender.corpus import FirmDoc, Relation

logger = logging.getLogger(__name__)


def corpus_from_files(
    firms_path: Path, relations_path: Path | None = None, *, progress: bool = False
) -> tuple[list[FirmDoc], list[Relation]]:
    """Import ``firms_path`` (and ``relations_path``) and return the corpus the index is built from."""
    with tempfile.TemporaryDirectory(prefix="chainmatch-corpus-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=None)
        engine = make_engine(settings)
        try:
            init_db(engine)
            steps = [(firms_path, ingest_firms)]
            if relations_path is not None:
                steps.append((relations_path, ingest_relations))
            for path, ingest in steps:
                records, _ = parse_records(path.read_bytes(), name=path.name)
                report = ingest(engine, records, progress=progress)
                if not report.written:
                    first = "; ".join(
                        f"line {e.line} {e.field or ''}: {e.message}" for e in report.errors[:3]
                    )
                    raise CorpusFileError(f"{path}: {report.invalid} invalid records ({first})")
                logger.info("%s: %d records, %d warnings", path.name, report.received, len(report.warnings))
            with Session(engine) as session:
                return load_firm_docs(session), load_relations(session)
        finally:
            engine.dispose()
