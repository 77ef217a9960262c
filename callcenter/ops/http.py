"""Operations over HTTP: liveness, readiness and the Prometheus metrics.

`/readyz` and `/metrics` tell an outsider how busy the center is and whether
its telephony is down. On a loopback web host only local processes reach them;
on any other host (or through a trusted proxy) they answer loopback clients
and the service token only: 403 `loopback-or-token-only` for the rest.
`/healthz` says nothing but "alive" and stays open for load balancers.
"""

from __future__ import annotations

import functools

from aiohttp import web

from callcenter.calls.keys import WRITER
from callcenter.config import Config, is_loopback
from callcenter.kernel.web import access
from callcenter.kernel.web.access import PUBLIC
from callcenter.kernel.web.errors import ApiError
from callcenter.kernel.web.keys import AMI, CONFIG
from callcenter.ops.keys import METRICS
from callcenter.ops.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


def client_address(config: Config, remote: str | None, forwarded_for: str) -> str | None:
    """Who is asking: the last X-Forwarded-For hop when a proxy is trusted, else the peer."""
    if config.auth.trust_forwarded_for and forwarded_for.strip():
        return forwarded_for.split(",")[-1].strip()
    return remote


def may_read_ops(config: Config, remote: str | None, forwarded_for: str, token: bool) -> bool:
    """Loopback clients and the service token always; anyone while the host is loopback.

    A trusted proxy's forwarded request counts as from beyond loopback even on a
    loopback host: the proxy is there to let the network in.
    """
    if token:
        return True
    proxied = config.auth.trust_forwarded_for and bool(forwarded_for.strip())
    if config.web.loopback and not proxied:
        return True
    address = client_address(config, remote, forwarded_for)
    return address is not None and is_loopback(address)


def _require_local_or_token(request: web.Request) -> None:
    found = access.maybe_principal(request)
    token = found is not None and found.via == "token"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if not may_read_ops(request.app[CONFIG], request.remote, forwarded, token):
        raise ApiError(
            403,
            "loopback-or-token-only",
            f"{request.path} answers loopback clients or the service token "
            "(Authorization: Bearer) when the web host is not loopback",
        )


async def readyz(request: web.Request) -> web.Response:
    _require_local_or_token(request)
    app = request.app
    ami = app[AMI]
    writer = app[WRITER]
    checks: dict[str, dict[str, object]] = {
        "ami": {"ok": ami.connected, "state": ami.state.value},
        "database": {"ok": writer.healthy, "backlog": writer.backlog},
    }
    ready = ami.connected and writer.healthy
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    _require_local_or_token(request)
    body = request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})


def setup_ops_routes(app: web.Application) -> None:
    r = functools.partial(access.route, app, tag="ops")
    r("GET", "/healthz", healthz, roles=PUBLIC, summary="liveness")
    r("GET", "/readyz", readyz, roles=PUBLIC, summary="readiness: AMI and database")
    r("GET", "/metrics", metrics, roles=PUBLIC, summary="Prometheus metrics")
