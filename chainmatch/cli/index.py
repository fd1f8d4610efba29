"""``chainmatch index build|status`` and ``chainmatch ranker train``: the search index and the
learned ranker (``ranker refresh`` lives beside the offers, :mod:`chainmatch.cli.offers`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from chainmatch.cli.common import console, database
from chainmatch.settings import get_settings

index_app = typer.Typer(help="The search index", no_args_is_help=True)
ranker_app = typer.Typer(help="The learned ranker", no_args_is_help=True)


@index_app.command("build")
def index_build() -> None:
    """Rebuild the index from the database (encoder fit, FAISS, lexical) and persist it."""
    from chainmatch.indexing import IndexService

    settings = get_settings()
    stats = IndexService(settings, database(settings)).rebuild(progress=True)
    console.print(
        f"索引已建立 index built: {stats['firms']} firms, {stats['relations']} relations, "
        f"{stats['seconds']} s → {settings.index_dir}"
    )


@index_app.command("status")
def index_status() -> None:
    """Whether the persisted index is in step with the database."""
    from chainmatch.indexing import IndexService

    settings = get_settings()
    service = IndexService(settings, database(settings))
    service.start()
    console.print_json(json.dumps(service.status(), ensure_ascii=False))


@ranker_app.command("train")
def ranker_train(
    firms: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="firms file (as for import)")],
    relations: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="product relations file")],
    gaps: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="graded gaps, JSON lines")],
    out: Annotated[Path, typer.Option(help="where ranker.npz and ranker.json go")] = Path(
        "recommender/artifacts"
    ),
    folds: Annotated[int, typer.Option(min=2, help="GroupKFold splits (grouped by item)")] = 5,
    freetext: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="the same gaps written as people write them (JSON lines with text, item, qrels)",
        ),
    ] = None,
) -> None:
    """Train the ranker on graded gaps, cross-validated by item, and write it with its provenance.

    The firms go through the importer first, so the ranker learns on the corpus the service holds.
    With --freetext the free-text rewrites are asked as typed and learned from too.
    """
    from chainmatch.corpus_files import corpus_from_files
    from recommender.training import train_ranker

    docs, rels = corpus_from_files(firms, relations, progress=True)

    def read_jsonl(path: Path) -> list[dict[str, object]]:
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    graded = read_jsonl(gaps)
    free = read_jsonl(freetext) if freetext else []
    files = [firms, relations, gaps, *([freetext] if freetext else [])]
    report = train_ranker(docs, rels, graded, out, n_splits=folds, data_files=files, freetext=free)
    console.print_json(data=report["cv"])
    console.print(f"排序模型已保存 ranker saved → {out / 'ranker.npz'} ({report['seconds']} s)")
