"""Typed app and request keys that the accounts feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.accounts.service import (
    Accounts,
    ActiveSession,
)

ACCOUNTS = web.AppKey("accounts", Accounts)

SESSION = web.RequestKey("session", ActiveSession)

SESSION_TOKEN = web.RequestKey("session_token", str)
