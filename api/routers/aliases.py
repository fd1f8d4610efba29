"""Product aliases: abbreviations, English names, formulas and trade synonyms of product names.

Any key may list them (with where each pair comes from); admin adds and deletes its own. A change
takes effect at every worker's next search, without an index rebuild (see chainmatch/aliases.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.caller import AdminCallerDep, AnyCallerDep
from api.deps import PageSizeDep
from api.errors import ErrorBody
from chainmatch.services import aliases
from models.alias import AliasSource, ProductAliasCreate, ProductAliasPublic
from models.matching import Page

router = APIRouter(prefix="/v1/product-aliases", tags=["product aliases"])

AliasId = Annotated[int, Path(ge=1, le=2**31 - 1, description="id of a user alias")]


@router.get("", response_model=Page[ProductAliasPublic])
def read_aliases(
    caller: AnyCallerDep,
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
    items, next_cursor = aliases.list_page(caller, limit=size, q=q, source=source, cursor=cursor)
    return Page[ProductAliasPublic](items=items, next_cursor=next_cursor)


@router.post(
    "",
    response_model=ProductAliasPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorBody, "description": "this alias already stands for this product"}},
)
def create_alias(body: ProductAliasCreate, caller: AdminCallerDep) -> ProductAliasPublic:
    """Add ``alias`` → ``canonical`` (admin). Effective at the next search of every worker; 409 if
    the pair is already there."""
    return aliases.add(caller, body)


@router.delete("/{alias_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_alias(alias_id: AliasId, caller: AdminCallerDep) -> None:
    """Delete a user alias (admin). Shipped and mined aliases have no id and cannot be deleted: 404."""
    aliases.remove(caller, alias_id)
