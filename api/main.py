"""The FastAPI application: ``create_app()`` wires settings, database and index once, in lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from api.errors import AUTH_RESPONSES, COMMON_RESPONSES, install_error_handlers
from api.jsonguard import JsonGuard, install_json_boundary
from api.limits import BodySizeLimit
from api.modelheader import ModelHeader
from api.ratelimit import RateLimiter
from api.routers import aliases as product_aliases
from api.routers import (
    audit,
    chains,
    firms,
    gap_lists,
    health,
    match,
    matchmaking,
    offers,
    outreach,
    relations,
    rematch,
    requirements,
)
from api.web import (
    actions,
    auth,
    pages_chains,
    pages_lists,
    pages_map,
    pages_matchmaking,
    pages_offers,
    pages_search,
)
from api.web import static as web_static
from chainmatch import __version__
from chainmatch.db import init_db, make_engine
from chainmatch.settings import Settings, get_settings
from chainmatch.sharding import close_index_service, make_index_service

logger = logging.getLogger(__name__)

DESCRIPTION = """
链长制 · 补链强链精准招商 — for every weak link a chain-leader firm declares, ChainMatch ranks
**investment targets** (firms outside the region worth attracting) and **local suppliers**
(本地配套, inside the region), with reasons. Authenticate with the `X-API-Key` header.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = make_engine(settings)
        init_db(db)
        index = make_index_service(settings, db, serving=True)  # CHAINMATCH_SHARDS > 1: shards on Ray
        await run_in_threadpool(index.start)
        app.state.settings = settings
        app.state.db = db
        app.state.index = index
        app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        logger.info("ChainMatch ready: %s", index.status())
        yield
        await run_in_threadpool(index.flush)
        close_index_service(index)
        db.dispose()

    app = FastAPI(
        title="ChainMatch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
    )
    app.add_middleware(JsonGuard)  # added first: runs inside the size limit, so buffers at most the cap
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ModelHeader, settings=settings)
    install_error_handlers(app)
    install_json_boundary(app)
    app.include_router(health.router)
    for module in (firms, relations, gap_lists, match, rematch, audit, chains, outreach):
        app.include_router(module.router, responses=AUTH_RESPONSES)
    app.include_router(product_aliases.router, responses=AUTH_RESPONSES)
    for module in (offers, requirements, matchmaking):
        app.include_router(module.router, responses=AUTH_RESPONSES)
    # the dashboard (HTML, not in the schema); its script calls the /v1 routes above with its cookie
    web = (web_static, auth, pages_chains, pages_search, actions, pages_map, pages_offers, pages_lists)
    for page in (*web, pages_matchmaking):
        app.include_router(page.router)
    return app
