"""Product aliases (abbreviations, English names, formulas, trade synonyms → product names).

Any key lists them, each with where it comes from; admin adds and deletes its own. A change takes
effect at every worker's next search, without an index rebuild (see :mod:`chainmatch.aliases`).
"""

from __future__ import annotations

from sqlmodel import Session

from chainmatch import aliases
from chainmatch.services.context import Caller
from models.alias import AliasSource, ProductAliasCreate, ProductAliasPublic
from models.apikey import Role
from recommender.aliases import Alias
from recommender.errors import IndexNotFound


def _shipped(caller: Caller, session: Session) -> list[Alias]:
    """The curated, CC-CEDICT and corpus-mined aliases: the engine's, or — no index yet — the
    shipped files' and the registry's product names'."""
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
    row = aliases.add_alias(caller.db, body, key_id=caller.principal.key_id)
    caller.index.refresh()
    return aliases.public(row)


def remove(caller: Caller, alias_id: int) -> ProductAliasPublic:
    """Delete a user alias by id (admin); shipped and mined ones have no id: AliasNotFound."""
    caller.require(Role.ADMIN)
    removed = aliases.remove_alias_by_id(caller.db, alias_id)
    caller.index.refresh()
    return removed
