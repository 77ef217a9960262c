"""A FastAGI server: the dialplan asks, the router answers with channel variables.

Asterisk's `AGI(agi://host:port/SCRIPT,arg1,...)` opens a TCP connection and
sends the AGI environment (`agi_key: value` lines, then a blank line). We look
up the handler for SCRIPT, give it the environment and arguments, and answer
with `SET VARIABLE` commands (each acknowledged by `200 result=1`) before
closing, which ends the AGI with AGISTATUS=SUCCESS. One round trip of decisions
per request keeps the dialplan in charge of the channel: nothing here blocks a
call, and if the server is gone the dialplan's fallback takes over.

Any local process can connect to the port, so every request must carry the
per-install key the dialplan puts in the URL (`agi://host:port/route?key=K`;
Asterisk 22 sends `agi_network_script: route?key=K`). A request without the
right key is refused before any handler runs: counted, logged with the peer's
address, and closed without an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MAX_ENV_LINES = 200
READ_TIMEOUT = 5.0


class AgiError(RuntimeError):
    pass


@dataclass(frozen=True)
class AgiRequest:
    script: str  # without the query: "route"
    args: tuple[str, ...]
    env: Mapping[str, str]
    # The URL's query parameters, raw (no %-decoding: the key is compared byte for byte).
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel", "")

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    def arg(self, index: int, default: str = "") -> str:
        return self.args[index] if index < len(self.args) else default


Handler = Callable[[AgiRequest], Awaitable[Mapping[str, str]]]


def parse_query(query: str) -> dict[str, str]:
    """`a=1&b=2` -> {"a": "1", "b": "2"}; a name given twice is an error (which one counts?)."""
    found: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if name in found:
            raise AgiError(f"query parameter {name!r} given twice")
        found[name] = value
    return found


def parse_env(lines: list[str]) -> AgiRequest:
    env: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep:
            env[key.strip()] = value.strip()
    script, _, query = env.get("agi_network_script", "").partition("?")
    args = []
    index = 1
    while f"agi_arg_{index}" in env:
        args.append(env[f"agi_arg_{index}"])
        index += 1
    return AgiRequest(script=script.strip("/"), args=tuple(args), env=env, query=parse_query(query))


def key_matches(request: AgiRequest, key: str) -> bool:
    """Constant-time comparison of the request's `key` parameter with ours."""
    offered = request.query.get("key")
    if offered is None or not key:
        return False
    return hmac.compare_digest(offered.encode(), key.encode())


def quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{escaped}"'


class FastAgiServer:
    def __init__(self, host: str, port: int, handlers: Mapping[str, Handler], *, key: str) -> None:
        if not key:
            raise ValueError("FastAgiServer needs the per-install AGI key (CALLCENTER_AGI_KEY)")
        self._host, self._port = host, port
        self._handlers = dict(handlers)
        self._key = key
        self._server: asyncio.Server | None = None
        self.requests = 0
        self.failures = 0
        self.refused = 0  # requests without the right key: a local process knocking

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
            if not key_matches(request, self._key):
                self.refused += 1
                log.warning(
                    "FastAGI request for %r from %s refused: %s key",
                    request.script[:64],
                    _peer(writer),
                    "wrong" if "key" in request.query else "no",
                )
                return
            handler = self._handlers.get(request.script)
            if handler is None:
                raise ValueError(f"no FastAGI script {request.script!r}")
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
        except AgiError as exc:
            # Before the key was checked (a malformed environment): refused, no answer.
            self.refused += 1
            log.warning("FastAGI request from %s refused: %s", _peer(writer), exc)
        except ValueError as exc:
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


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "unknown peer")


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
