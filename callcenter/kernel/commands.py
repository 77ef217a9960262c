"""What every feature's `commands.py` shares: the registration and handler types, and helpers.

Each feature with CLI commands exposes `add_commands(subparsers)`, which adds
its subcommands and sets each one's handler with `set_defaults(func=...)`;
`callcenter.cli` parses argv, loads the Config and calls `args.func(config,
args)`, whose result is the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from callcenter.config import Config

# Strings: argparse's action class is generic only in typeshed, and Config is for typing only.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler: TypeAlias = "Callable[[Config, argparse.Namespace], int]"

T = TypeVar("T")


def run_with_sessions(
    url: str, job: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    """Run `job` over the database at `url`, from synchronous command code; no service needed."""
    from callcenter.kernel.db import create_engine, create_session_factory

    async def main() -> T:
        engine = create_engine(url)
        try:
            return await job(create_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def service_url(config: Config, override: str | None) -> str:
    """The running service's base URL: `--url`, else where the config says it listens."""
    return override or f"http://{config.web.host}:{config.web.port}"


def call_service(
    base: str, method: str, path: str, body: object, *, token: str | None
) -> object | int:
    """The service's JSON answer, or the exit status after printing its error.

    Commands that change live state (agents, callbacks) go through the
    running service rather than the database, so its router sees every change.
    """
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def call() -> tuple[int, object]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
            session.request(method, base + path, json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    try:
        status, data = asyncio.run(call())
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(
            f"callcenter: the service at {base} is not reachable ({exc}); start it with"
            " `callcenter serve`",
            file=sys.stderr,
        )
        return 2
    if status >= 400 and isinstance(data, dict):
        print(f"callcenter: {data.get('error_id')}: {data.get('message')}", file=sys.stderr)
        return 1
    return data


def print_answer(answer: object | int) -> int:
    """Print the service's JSON answer; an int is `call_service`'s exit status, passed on."""
    if isinstance(answer, int):
        return answer
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    return 0
