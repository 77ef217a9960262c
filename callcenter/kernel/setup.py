"""The shared resources every feature's setup stands on: config, database, task supervisor.

The database context is entered first and left last, so calls that finish
while the features shut down are still written (or spooled); the supervisor
is stopped just before it, after every feature has cancelled its own tasks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from callcenter.config import Config
from callcenter.kernel.db import create_engine, create_session_factory
from callcenter.kernel.supervisor import TaskSupervisor
from callcenter.kernel.web import access, openapi
from callcenter.kernel.web.access import PUBLIC
from callcenter.kernel.web.keys import CONFIG, SESSIONS, SUPERVISOR
from callcenter.kernel.web.pages import STATIC_DIR


def setup(app: web.Application, config: Config) -> None:
    app[CONFIG] = config
    app[SUPERVISOR] = TaskSupervisor()
    app.cleanup_ctx.append(_database)
    openapi.setup_openapi_routes(app)
    access.static(
        app, "/static/ui", str(STATIC_DIR / "ui"), roles=PUBLIC, summary="the shared page shell"
    )


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[CONFIG].database.url)
    app[SESSIONS] = create_session_factory(engine)
    try:
        yield
    finally:
        await app[SUPERVISOR].stop()
        await engine.dispose()
