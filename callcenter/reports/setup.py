"""Reports in the app: the reports page and its CSV/JSON routes (read-only over the stores)."""

from __future__ import annotations

from aiohttp import web

from callcenter.config import Config
from callcenter.reports.http import setup_report_routes


def setup(app: web.Application, config: Config) -> None:
    setup_report_routes(app)
