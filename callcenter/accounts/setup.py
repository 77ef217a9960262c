"""Accounts in the app: who a request acts as (service token, then session cookie), the
accounts service, and the login, session and user-management routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from callcenter.accounts import passwords
from callcenter.accounts.http import cookie_name, session_authenticator, setup_auth_routes
from callcenter.accounts.keys import ACCOUNTS
from callcenter.accounts.service import Accounts
from callcenter.accounts.service_token import service_token
from callcenter.accounts.store import AccountRepository
from callcenter.accounts.users_http import setup_user_routes
from callcenter.config import Config
from callcenter.kernel.web import access
from callcenter.kernel.web.keys import CONFIG, SESSIONS

log = logging.getLogger(__name__)


def setup(app: web.Application, config: Config) -> None:
    table = access.table(app)
    # The CLI's bearer token first: it never carries a cookie.
    table.authenticators.append(access.token_authenticator(service_token(config, create=True)))
    table.authenticators.append(session_authenticator)
    table.session_cookie = cookie_name(config)
    app.cleanup_ctx.append(_accounts)
    setup_auth_routes(app)
    setup_user_routes(app)


async def _accounts(app: web.Application) -> AsyncIterator[None]:
    repository = AccountRepository(app[SESSIONS])
    accounts = Accounts(repository, app[CONFIG].auth)
    # The dummy hash for unknown usernames, made now: made at the first such login, that
    # login would take twice as long and tell the name does not exist.
    await asyncio.to_thread(passwords.dummy_hash, accounts.params)
    app[ACCOUNTS] = accounts
    try:
        if not await repository.list_users():
            log.warning(
                "no accounts yet: nobody can log in to the pages until the first admin is"
                " made with `callcenter user add admin --role admin`"
            )
    except (SQLAlchemyError, OSError):
        pass  # the database is down: the writer and readiness report it already
    yield
