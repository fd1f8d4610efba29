"""The service caller of a request: who is calling (the API key, or the dashboard's cookie), with
the database, the index and the settings, and the route written on audit rows."""

# No ``from __future__ import annotations``: FastAPI reads the closure's annotations at runtime,
# and a string naming the local ``allowed`` could not be resolved.
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from api.deps import DbDep, IndexDep, SettingsDep, require
from chainmatch.audit import route_of
from chainmatch.keys import Principal
from chainmatch.services.context import Caller
from models.apikey import Role


def caller_of(*roles: Role) -> Callable[..., Caller]:
    """A dependency giving the request's :class:`Caller`; 403 (before the route runs) unless the
    caller has one of ``roles``."""
    allowed = require(*roles)

    def get_caller(
        request: Request,
        principal: Annotated[Principal, Depends(allowed)],
        db: DbDep,
        index: IndexDep,
        settings: SettingsDep,
    ) -> Caller:
        return Caller(principal, db, index, settings, route=route_of(request.method, request.url.path))

    return get_caller


AnyCallerDep = Annotated[Caller, Depends(caller_of(*Role))]
AdminCallerDep = Annotated[Caller, Depends(caller_of(Role.ADMIN))]
BureauCallerDep = Annotated[Caller, Depends(caller_of(Role.BUREAU, Role.ADMIN))]
MatchmakerCallerDep = Annotated[Caller, Depends(caller_of(Role.BUREAU, Role.LEADER, Role.ADMIN))]
