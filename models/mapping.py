"""The one mapper from table rows to their public models.

A public model (``GapListPublic``, ``SupplyOfferPublic`` …) is read from the row's attributes by
field name (``model_validate(..., from_attributes=True)``), so a field added to both is carried
without touching a copy list. The few fields a row does not hold — a list's items, an offer's firm
name — are passed by name and win over any attribute of the same name.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

PublicModel = TypeVar("PublicModel", bound=BaseModel)


class _RowWith:
    """``row`` seen with ``computed`` laid over it: what the public model reads its fields from."""

    __slots__ = ("_computed", "_row")

    def __init__(self, row: object, computed: dict[str, Any]) -> None:
        self._row = row
        self._computed = computed

    def __getattr__(self, name: str) -> Any:
        computed = self._computed
        return computed[name] if name in computed else getattr(self._row, name)


def to_public(model: type[PublicModel], row: object, /, **computed: Any) -> PublicModel:
    """``model`` read from ``row``'s attributes, with ``computed`` fields set explicitly (nested
    public models are read from rows too: ``items=[GapItem, …]`` becomes ``[GapItemPublic, …]``)."""
    source = _RowWith(row, computed) if computed else row
    return model.model_validate(source, from_attributes=True)
