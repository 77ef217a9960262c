"""A FastAGI server: the dialplan asks, the router answers with channel variables.

Asterisk's `AGI(agi://host:port/SCRIPT,arg1,...)` opens a TCP connection and
sends the AGI environment (`agi_key: value` lines, then a blank line). We look
up the handler for SCRIPT, give it the environment and arguments, and answer
with `SET VARIABLE` commands (each acknowledged by `200 result=1`) before
closing, which ends the AGI with AGISTATUS=SUCCESS. One round trip of decisions
per request keeps the dialplan in charge of the channel: nothing here blocks a
call, and if the server is gone the dialplan's fallback takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_ENV_LINES = 200
READ_TIMEOUT = 5.0


class AgiError(RuntimeError):
    pass


@dataclass(frozen=True)
class AgiRequest:
    script: str
    args: tuple[str, ...]
    env: Mapping[str, str]

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel", "")

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    def arg(self, index: int, default: str = "") -> str:
        return self.args[index] if index < len(self.args) else default


Handler = Callable[[AgiRequest], Awaitable[Mapping[str, str]]]


def parse_env(lines: list[str]) -> AgiRequest:
    env: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            env[key.strip()] = value.strip()
    script = env.get("agi_network_script", "").strip("/")
    args = []
    index = 1
    while f"agi_arg_{index}" in env:
        args.append(env[f"agi_arg_{index}"])
        index += 1
    return AgiRequest(script=script, args=tuple(args), env=env)


def quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


class FastAgiServer:
    def __init__(self, host: str, port: int, handlers: Mapping[str, Handler]) -> None:
        self._host, self._port = host, port
        self._handlers = dict(handlers)
        self._server: asyncio.Server | None = None
        self.requests = 0
        self.failures = 0

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    def add(self, script: str, handler: Handler) -> Callable[[], None]:
        """Serve one more script (for a feature set up after the owner); returns its removal."""
        self._handlers[script] = handler

        def remove() -> None:
            if self._handlers.get(script) is handler:
                del self._handlers[script]

        return remove

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        log.info("FastAGI listening on %s:%d", self._host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(_read_env(reader), READ_TIMEOUT)
            handler = self._handlers.get(request.script)
            if handler is None:
                raise AgiError(f"no FastAGI script {request.script!r}")
            self.requests += 1
            variables = await handler(request)
            # One command at a time: res_agi reads one line per command and drops
            # what else came in the same read (pipelined commands stall 5 s here).
            for name, value in variables.items():
                writer.write(f"SET VARIABLE {name} {quote(str(value))}\n".encode())
                await writer.drain()
                reply = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
                if not reply.startswith(b"200"):
                    # 511: the channel hung up meanwhile; nothing more to tell it.
                    log.debug("AGI %s: SET VARIABLE %s -> %r", request.script, name, reply)
                    break
        except (AgiError, ValueError) as exc:
            self.failures += 1
            log.warning("FastAGI request refused: %s", exc)
            writer.write(f"VERBOSE {quote(str(exc))} 1\n".encode())
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as exc:
            self.failures += 1
            log.warning("FastAGI connection lost: %r", exc)
        except Exception:
            self.failures += 1
            log.exception("FastAGI handler failed")
        finally:
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()


async def _read_env(reader: asyncio.StreamReader) -> AgiRequest:
    lines: list[str] = []
    while len(lines) < MAX_ENV_LINES:
        raw = await reader.readline()
        if not raw:
            raise ConnectionError("connection closed before the AGI environment ended")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            return parse_env(lines)
        lines.append(line)
    raise AgiError("AGI environment too long")
