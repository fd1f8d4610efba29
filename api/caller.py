"""The service caller of a request, after a role check: ``api.deps.get_caller`` (any role) with
403 before the route runs unless the caller has one of the route's roles."""

# No ``from __future__ import annotations``: FastAPI reads the closure's annotations at runtime,
# and a string naming the local ``allowed`` could not be resolved.
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from api.deps import get_caller, require
from chainmatch.keys import Principal
from chainmatch.services.context import Caller
from models.apikey import Role


def caller_of(*roles: Role) -> Callable[..., Caller]:
    """A dependency giving the request's :class:`Caller`; 403 unless it has one of ``roles``."""
    allowed = require(*roles)

    def get_role_caller(
        _principal: Annotated[Principal, Depends(allowed)], caller: Annotated[Caller, Depends(get_caller)]
    ) -> Caller:
        return caller

    return get_role_caller


AnyCallerDep = Annotated[Caller, Depends(get_caller)]
AdminCallerDep = Annotated[Caller, Depends(caller_of(Role.ADMIN))]
BureauCallerDep = Annotated[Caller, Depends(caller_of(Role.BUREAU, Role.ADMIN))]
MatchmakerCallerDep = Annotated[Caller, Depends(caller_of(Role.BUREAU, Role.LEADER, Role.ADMIN))]
