"""Product aliases (abbreviations, English names, formulas, trade synonyms → product names).

Any key lists them, each with where it comes from; admin adds and deletes its own. A change takes
effect at every worker's next search, without an index rebuild (see :mod:`chainmatch.aliases`).
"""

from __future__ import annotations

from sqlmodel import Session

from chainmatch import aliases
from chainmatch.errors import AliasNotFound
from chainmatch.ingest.report import IngestReport
from chainmatch.services.context import Caller
from models.alias import AliasSource, ProductAliasCreate, ProductAliasPublic
from models.apikey import Role
from recommender.aliases import Alias, AliasTable
from recommender.errors import IndexNotFound
from recommender.text import normalize_text


def _holds_engine(caller: Caller) -> bool:
    """Whether this process has an engine in memory (a server does). A one-shot command (the CLI)
    starts none for aliases: that would load or build the whole index, and nothing needs it — the
    database is the user aliases' source, and every worker reloads them at its next search."""
    return caller.index.origin != "none"


def _catch_up(caller: Caller) -> None:
    """After a write: bring this process's engine to the new aliases now, if it holds one."""
    if _holds_engine(caller):
        caller.index.refresh()


def _shipped(caller: Caller, session: Session) -> list[Alias]:
    """The curated, CC-CEDICT and corpus-mined aliases: the engine's, or — no index in this
    process — the shipped files' and the registry's product names'."""
    if not _holds_engine(caller):
        return aliases.registry_aliases(session)
    try:
        with caller.index.searching() as engine:
            return engine.aliases.entries()
    except IndexNotFound:
        return aliases.registry_aliases(session)


def list_page(
    caller: Caller,
    *,
    limit: int,
    q: str | None = None,
    source: AliasSource | None = None,
    cursor: str | None = None,
) -> tuple[list[ProductAliasPublic], str | None]:
    """One page of every alias in effect, ordered by source then alias, and the next cursor."""
    with caller.reading() as session:
        shipped = _shipped(caller, session) if source is not AliasSource.USER else []
        return aliases.list_aliases(session, shipped, q=q, source=source, cursor=cursor, limit=limit)


def add(caller: Caller, body: ProductAliasCreate) -> ProductAliasPublic:
    """Add a user alias (admin); :class:`~chainmatch.errors.AliasExists` if the pair is there."""
    caller.require(Role.ADMIN)
    row = aliases.add_alias(caller.db, body, key_id=caller.principal.key_id or None)
    _catch_up(caller)
    return aliases.public(row)


def remove(caller: Caller, alias_id: int) -> ProductAliasPublic:
    """Delete a user alias by id (admin); shipped and mined ones have no id: AliasNotFound."""
    caller.require(Role.ADMIN)
    removed = aliases.remove_alias_by_id(caller.db, alias_id)
    _catch_up(caller)
    return removed


def remove_named(caller: Caller, alias: str, canonical: str | None = None) -> list[ProductAliasPublic]:
    """Delete the user aliases ``alias`` (only the one to ``canonical`` if given) (admin). None
    there: :class:`~chainmatch.errors.AliasNotFound`, saying so when the alias is a shipped or
    mined one (those cannot be deleted; they change with their files)."""
    caller.require(Role.ADMIN)
    removed = aliases.remove_aliases(caller.db, alias, canonical)
    if removed:
        _catch_up(caller)
        return removed
    with caller.reading() as session:
        shipped = AliasTable(_shipped(caller, session)).lookup(alias)
    if canonical:
        shipped = [a for a in shipped if a.canonical == normalize_text(canonical)]
    if shipped:
        sources = "、".join(sorted({a.source for a in shipped}))
        raise AliasNotFound(
            f"别名 {alias} 来自 {sources}，只能删除管理员添加的别名 (only user aliases can be removed)"
        )
    raise AliasNotFound(f"没有管理员添加的别名 {alias} (no such user alias)")


def import_file(caller: Caller, data: bytes, filename: str) -> IngestReport:
    """User aliases from a TSV or CSV file (``alias``, ``canonical``) (admin), all or nothing: with
    any bad row nothing is written. An unreadable file: :class:`~chainmatch.errors.UnreadableInput`."""
    caller.require(Role.ADMIN)
    rows = aliases.read_alias_file(data, filename)
    report = aliases.import_aliases(caller.db, rows, key_id=caller.principal.key_id or None)
    if report.inserted:
        _catch_up(caller)
    return report
