"""Product aliases: abbreviations, English names, formulas and trade synonyms of product names.

Any key may list them (with where each pair comes from); admin adds and deletes its own. A change
takes effect at every worker's next search, without an index rebuild (see chainmatch/aliases.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from api.deps import AdminDep, DbDep, IndexDep, PageSizeDep, PrincipalDep, ReadSessionDep
from api.errors import ErrorBody
from chainmatch.aliases import (
    AliasError,
    AliasExists,
    AliasNotFound,
    add_alias,
    list_aliases,
    public,
    registry_aliases,
    remove_alias_by_id,
)
from models.alias import AliasSource, ProductAliasCreate, ProductAliasPublic
from models.matching import Page
from recommender.aliases import Alias
from recommender.errors import IndexNotFound

router = APIRouter(prefix="/v1/product-aliases", tags=["product aliases"])

AliasId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id of a user alias")]


@router.get("", response_model=Page[ProductAliasPublic])
def read_aliases(
    _principal: PrincipalDep,
    session: ReadSessionDep,
    index: IndexDep,
    size: PageSizeDep,
    q: Annotated[str | None, Query(max_length=100, description="in the alias or the product name")] = None,
    source: Annotated[AliasSource | None, Query(description="curated | cedict | corpus | user")] = None,
    cursor: Annotated[
        str | None, Query(max_length=600, description="next_cursor of the previous page")
    ] = None,
) -> Page[ProductAliasPublic]:
    """Every alias in effect, each with its source: ``user`` (added by an administrator; ``id`` to
    delete it by), ``curated`` (the shipped table), ``cedict`` (CC-CEDICT's English names) and
    ``corpus`` (what the registry's product names carry, e.g. 光电倍增管(PMT))."""
    shipped: list[Alias] = []
    if source is not AliasSource.USER:
        try:
            with index.searching() as engine:
                shipped = engine.aliases.entries()
        except IndexNotFound:  # no index yet: the shipped files and the registry's names
            shipped = registry_aliases(session)
    try:
        items, next_cursor = list_aliases(session, shipped, q=q, source=source, cursor=cursor, limit=size)
    except AliasError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return Page[ProductAliasPublic](items=items, next_cursor=next_cursor)


@router.post(
    "",
    response_model=ProductAliasPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorBody, "description": "this alias already stands for this product"}},
)
def create_alias(
    body: ProductAliasCreate, principal: AdminDep, db: DbDep, index: IndexDep
) -> ProductAliasPublic:
    """Add ``alias`` → ``canonical`` (admin). Effective at the next search of every worker; 409 if
    the pair is already there."""
    try:
        row = add_alias(db, body, key_id=principal.key_id)
    except AliasExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    index.refresh()
    return public(row)


@router.delete("/{alias_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_alias(alias_id: AliasId, _admin: AdminDep, db: DbDep, index: IndexDep) -> None:
    """Delete a user alias (admin). Shipped and mined aliases have no id and cannot be deleted: 404."""
    try:
        remove_alias_by_id(db, alias_id)
    except AliasNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    index.refresh()
