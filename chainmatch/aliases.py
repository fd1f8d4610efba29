"""Administrators' product aliases: list, add, remove, import — without an index rebuild.

The ``user`` aliases live in ``product_alias``. Every write bumps ``corpus_state.aliases_revision``
in the same transaction; each process's :class:`~chainmatch.indexing.IndexService` compares that
number with the one it loaded on every search and, when it differs, reloads the user aliases into
its engine (:meth:`recommender.engine.Recommender.set_user_aliases`). So with several workers every
one of them sees a change at its next search, as with the corpus revision, and nothing is rebuilt.

Listing shows every alias in effect with where it comes from: the user ones from the database (with
the id to delete them by), and the shipped (``curated``, ``cedict``) and corpus-mined ones from the
engine, or — where no index is loaded, as in the CLI — from the shipped files and the registry's
product names. Shipped and mined aliases cannot be deleted; they change with their files.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chainmatch.db import session_scope
from chainmatch.errors import AliasError, AliasExists, AliasNotFound
from chainmatch.ingest.readers import decode
from chainmatch.ingest.report import IngestReport, validation_issues
from models.alias import AliasSource, ProductAlias, ProductAliasCreate, ProductAliasPublic
from models.firm import Firm, FirmProduct
from models.mapping import to_public
from models.relation import ProductRelation
from models.state import CorpusState
from recommender.aliases import Alias, AliasTable, alias_key, mine_corpus_aliases
from recommender.text import normalize_text

# Listing order: the administrators' own first, then the shipped and mined ones.
_SOURCE_ORDER = {s: i for i, s in enumerate(("user", "curated", "corpus", "cedict"))}
MAX_IMPORT_ROWS = 50_000


# ----------------------------------------------------------------------------- revision
def bump_aliases_revision(session: Session) -> None:
    """Inside the caller's transaction: every worker reloads the user aliases at its next search."""
    session.exec(
        update(CorpusState)
        .where(col(CorpusState.id) == 1)
        .values(aliases_revision=CorpusState.aliases_revision + 1)
    )


def aliases_revision(session: Session) -> int:
    value = session.exec(select(CorpusState.aliases_revision).where(CorpusState.id == 1)).first()
    return int(value or 0)


def load_user_aliases(session: Session) -> list[Alias]:
    rows = session.exec(select(ProductAlias).order_by(col(ProductAlias.id))).all()
    return [Alias(r.alias, r.canonical, "user") for r in rows]


# ----------------------------------------------------------------------------- writing
def add_alias(db: Engine, body: ProductAliasCreate, *, key_id: int | None = None) -> ProductAlias:
    """Store one user alias; :class:`AliasExists` if the same alias → product pair is there."""
    key = alias_key(body.alias)
    with session_scope(db) as session:
        exists = session.exec(
            select(ProductAlias).where(ProductAlias.key == key, ProductAlias.canonical == body.canonical)
        ).first()
        if exists is not None:
            raise AliasExists(
                f"别名 {exists.alias} → {exists.canonical} 已存在 (id {exists.id}) (this alias already exists)"
            )
        row = ProductAlias(alias=body.alias, canonical=body.canonical, key=key, created_by_key_id=key_id)
        session.add(row)
        bump_aliases_revision(session)
        session.flush()
        session.refresh(row)
        session.expunge(row)
    return row


def remove_alias_by_id(db: Engine, alias_id: int) -> ProductAliasPublic:
    """Delete one user alias by id; :class:`AliasNotFound` if there is none (shipped and mined
    aliases have no id: they cannot be deleted)."""
    with session_scope(db) as session:
        row = session.get(ProductAlias, alias_id)
        if row is None:
            raise AliasNotFound("别名不存在，或不是管理员添加的别名 (no such user alias)")
        removed = public(row)
        session.delete(row)
        bump_aliases_revision(session)
    return removed


def remove_aliases(db: Engine, alias: str, canonical: str | None = None) -> list[ProductAliasPublic]:
    """Delete the user aliases ``alias`` (only the one to ``canonical`` if given)."""
    key = alias_key(alias)
    with session_scope(db) as session:
        query = select(ProductAlias).where(ProductAlias.key == key)
        if canonical:
            query = query.where(ProductAlias.canonical == normalize_text(canonical))
        rows = list(session.exec(query).all())
        removed = [public(r) for r in rows]
        for row in rows:
            session.delete(row)
        if rows:
            bump_aliases_revision(session)
    return removed


@dataclass(frozen=True, slots=True)
class AliasRow:
    line: int
    alias: object
    canonical: object


def read_alias_file(data: bytes, name: str) -> list[AliasRow]:
    """Rows of a TSV or CSV file (``alias``, ``canonical``; a header row is optional), UTF-8 or
    GB18030. The delimiter follows the extension, or the first line when it has a tab."""
    text, _ = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if name.lower().endswith(".tsv") or "\t" in first else ","
    rows: list[AliasRow] = []
    for number, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        head = [c.strip().lower() for c in cells[:2]]
        if not rows and head and head[0] in {"alias", "别名"}:
            continue  # header
        rows.append(AliasRow(number, cells[0], cells[1] if len(cells) > 1 else None))
    return rows


def import_aliases(db: Engine, rows: Sequence[AliasRow], *, key_id: int | None = None) -> IngestReport:
    """All or nothing: every row is validated first; with any error nothing is written. Pairs
    already stored (or repeated in the file) are counted as unchanged."""
    report = IngestReport(received=len(rows))
    report.require_records()
    if len(rows) > MAX_IMPORT_ROWS:
        report.error(f"一次最多导入 {MAX_IMPORT_ROWS} 行 (at most {MAX_IMPORT_ROWS} rows per file)")
    valid: list[tuple[int, ProductAliasCreate]] = []
    for row in rows:
        try:
            body = ProductAliasCreate.model_validate({"alias": row.alias, "canonical": row.canonical})
        except ValidationError as exc:
            report.errors.extend(validation_issues(exc, line=row.line, record_id=None))
            report.invalid += 1
            continue
        valid.append((row.line, body))
    if report.errors:
        return report
    with session_scope(db) as session:
        stored = {(r.key, r.canonical) for r in session.exec(select(ProductAlias)).all()}
        for _line, body in valid:
            pair = (alias_key(body.alias), body.canonical)
            if pair in stored:
                report.unchanged += 1
                continue
            stored.add(pair)
            session.add(
                ProductAlias(
                    alias=body.alias, canonical=body.canonical, key=pair[0], created_by_key_id=key_id
                )
            )
            report.inserted += 1
        if report.inserted:
            bump_aliases_revision(session)
    report.written = True
    return report


# ----------------------------------------------------------------------------- reading
def public(row: ProductAlias) -> ProductAliasPublic:
    return to_public(ProductAliasPublic, row, source=AliasSource.USER)


def registry_aliases(session: Session) -> list[Alias]:
    """Shipped and corpus-mined aliases without a loaded engine (the CLI): the shipped files, and
    what the registry's own product names and graph nodes carry (``光电倍增管(PMT)``)."""
    names = set(
        session.exec(
            select(FirmProduct.name)
            .join(Firm, col(Firm.id) == col(FirmProduct.firm_id))
            .where(col(Firm.deleted_at).is_(None))
            .distinct()
        ).all()
    )
    names.update(session.exec(select(ProductRelation.product).distinct()).all())
    names.update(session.exec(select(ProductRelation.target).distinct()).all())
    table = AliasTable.from_files()
    table.add_all(mine_corpus_aliases(sorted(names)))
    return table.entries()


def _cursor_key(item: ProductAliasPublic) -> tuple[int, str, str, int]:
    return (_SOURCE_ORDER[item.source.value], alias_key(item.alias), item.canonical, item.id or 0)


def encode_cursor(item: ProductAliasPublic) -> str:
    return base64.urlsafe_b64encode(json.dumps(_cursor_key(item), ensure_ascii=False).encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str, str, int]:
    try:
        order, key, canonical, ident = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        return int(order), str(key), str(canonical), int(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise AliasError("cursor 无效 (invalid cursor)") from exc


def list_aliases(
    session: Session,
    shipped: Iterable[Alias],
    *,
    q: str | None = None,
    source: AliasSource | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[ProductAliasPublic], str | None]:
    """One page of every alias in effect: the database's user aliases and ``shipped`` (the
    engine's or :func:`registry_aliases`' curated / cedict / corpus ones; user ones there are
    ignored, the database is their source). Filtered by ``q`` (in the alias or the product name)
    and ``source``; ordered by source, then alias. Returns the page and the next cursor."""
    items: list[ProductAliasPublic] = []
    if source in (None, AliasSource.USER):
        query = select(ProductAlias)
        if q:
            needle = f"%{normalize_text(q)}%"
            key_needle = f"%{alias_key(q)}%"
            query = query.where(
                col(ProductAlias.key).like(key_needle)
                | col(ProductAlias.canonical).like(needle)
                | func.lower(col(ProductAlias.alias)).like(needle.lower())
            )
        items.extend(public(r) for r in session.exec(query).all())
    if source != AliasSource.USER:
        key_q = alias_key(q) if q else ""
        text_q = normalize_text(q) if q else ""
        for a in shipped:
            if a.source == "user" or (source is not None and a.source != source.value):
                continue
            if q and key_q not in alias_key(a.alias) and text_q not in a.canonical:
                continue
            items.append(
                ProductAliasPublic(alias=a.alias, canonical=a.canonical, source=AliasSource(a.source))
            )
    items.sort(key=_cursor_key)
    if cursor:
        after = decode_cursor(cursor)
        items = [i for i in items if _cursor_key(i) > after]
    page = items[:limit]
    more = len(items) > limit
    return page, encode_cursor(page[-1]) if more and page else None


__all__ = [
    "AliasError",
    "AliasExists",
    "AliasNotFound",
    "AliasRow",
    "add_alias",
    "aliases_revision",
    "bump_aliases_revision",
    "import_aliases",
    "list_aliases",
    "load_user_aliases",
    "read_alias_file",
    "registry_aliases",
    "remove_alias_by_id",
    "remove_aliases",
]
