"""create_app(config): the features' setups, in the order the app starts them.

Each setup registers its routes and appends its cleanup context; contexts are
entered in this order and left in reverse. A feature's context finds what the
features above it published (typed keys), so the order is the dependency order:
the kernel (config, database, supervisor) first and last out, then the call log
with the AMI connection, the metrics, agents, the router, and what stands on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from aiohttp import web

from callcenter.accounts.setup import setup as accounts
from callcenter.agents.setup import setup as agents
from callcenter.asr.setup import setup as asr
from callcenter.callbacks.setup import setup as callbacks
from callcenter.calls.setup import setup as calls
from callcenter.compliance.setup import setup as compliance
from callcenter.config import Config
from callcenter.dashboard.setup import setup as dashboard
from callcenter.kernel.setup import setup as kernel
from callcenter.kernel.web import access
from callcenter.kernel.web.errors import middlewares
from callcenter.ops.setup import setup as ops
from callcenter.panel.setup import setup as panel
from callcenter.qa.setup import setup as qa
from callcenter.reports.setup import setup as reports
from callcenter.routing.setup import setup as routing

Setup = Callable[[web.Application, Config], None]

FEATURES: Final[tuple[Setup, ...]] = (
    kernel,  # config, database, task supervisor, OpenAPI, the page shell
    accounts,  # who a request acts as: service token, session cookie; login
    calls,  # the call log and the AMI connection
    ops,  # metrics (every record, right after the writer), health
    agents,  # agent store, their PJSIP endpoints and prompts
    routing,  # the router and the FastAGI server
    compliance,  # per-call compliance facts
    callbacks,  # dialer, callback sources, surveys
    panel,  # screen pops, click-to-call
    dashboard,  # the live supervisor dashboard
    asr,  # transcription
    qa,  # recordings catalogue, retention, QA
    reports,
)


def create_app(config: Config) -> web.Application:
    app = web.Application(middlewares=[*middlewares(), access.access_middleware])
    for setup in FEATURES:
        setup(app, config)
    return app


def run(config: Config) -> None:
    """Serve until SIGINT/SIGTERM; the features' cleanups run on the way out."""
    web.run_app(
        create_app(config),
        host=config.web.host,
        port=config.web.port,
        print=None,
        shutdown_timeout=10.0,
    )
