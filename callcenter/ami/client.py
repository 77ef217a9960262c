"""The AMI connection: an explicit state machine over a thin asyncio protocol.

Login, keep-alive with a deadline, reconnect with capped exponential backoff
and jitter, ActionID-correlated actions under a timeout, event-list actions
(`CoreShowChannels`, `QueueStatus`), and handler isolation. Nothing is ever
re-sent after a reconnect: an action pending when the link drops fails with
`AmiConnectionLost` and its owner decides (an `Originate` sent twice dials a
customer twice). Why our own protocol and not a library: docs/decisions.md.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from callcenter.ami.errors import (
    AmiActionFailed,
    AmiActionTimeout,
    AmiAuthError,
    AmiConnectionLost,
    AmiError,
    AmiFatalError,
    AmiNotConnected,
    AmiRetryableError,
)
from callcenter.ami.frame import FrameParser
from callcenter.ami.message import Message, encode_action
from callcenter.config import AmiConfig

log = logging.getLogger(__name__)

EventHandler = Callable[[Message], None]
ConnectedHook = Callable[["AmiClient"], Awaitable[None]]
StateListener = Callable[["ConnectionState", str], None]
RawSink = Callable[[bytes], None]


class ConnectionState(enum.StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKOFF = "backoff"
    AUTH_FAILED = "auth_failed"
    FATAL = "fatal"
    CLOSED = "closed"


# States that count as "down" for logging: moving between them is not news.
_DOWN = {ConnectionState.DISCONNECTED, ConnectionState.CONNECTING, ConnectionState.BACKOFF}


def backoff_delay(attempt: int, low: float, high: float, jitter: float) -> float:
    """Capped exponential backoff; `jitter` in [0, 1) spreads reconnect storms."""
    base = min(high, low * 2.0 ** min(attempt, 30))
    return base * (0.5 + jitter / 2)


@dataclass
class _Pending:
    action: str
    future: asyncio.Future[Message]
    collect: bool = False
    response: Message | None = None
    events: list[Message] = field(default_factory=list)
    action_id: str = ""


@dataclass(frozen=True)
class ListResult:
    response: Message
    events: list[Message]


class AmiClient:
    def __init__(
        self,
        config: AmiConfig,
        *,
        raw_sink: RawSink | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._config = config
        self._raw_sink = raw_sink
        self._rng = rng
        self._state = ConnectionState.DISCONNECTED
        self._logged_state: ConnectionState | None = None
        self._handlers: list[EventHandler] = []
        self._hooks: list[ConnectedHook] = []
        self._state_listeners: list[StateListener] = []
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._id_prefix = secrets.token_hex(3)
        self._writer: asyncio.StreamWriter | None = None
        self._closing = False
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._running = asyncio.Event()
        self._stopped = asyncio.Event()
        self._failed_handlers: set[tuple[str, str]] = set()
        self.banner: str | None = None
        self.reconnects = 0
        self._ever_connected = False
        self.events_received = 0

    # -- subscriptions (each returns its unsubscribe) ---------------------------------

    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler) if handler in self._handlers else None

    def on_connected(self, hook: ConnectedHook) -> Callable[[], None]:
        """Run `hook` after every successful login (resynchronise state there)."""
        self._hooks.append(hook)
        return lambda: self._hooks.remove(hook) if hook in self._hooks else None

    def on_state_change(self, listener: StateListener) -> Callable[[], None]:
        self._state_listeners.append(listener)
        return lambda: (
            self._state_listeners.remove(listener) if listener in self._state_listeners else None
        )

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state is ConnectionState.CONNECTED

    async def wait_connected(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    # -- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and stay connected until `close()`.

        Returns after `close()`; raises `AmiAuthError` or `AmiFatalError` when
        retrying cannot help.
        """
        self._running.set()
        self._stopped.clear()
        try:
            await self._run()
        finally:
            self._running.clear()
            self._stopped.set()

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            self._set_state(ConnectionState.CONNECTING, "")
            reason = ""
            try:
                reached = await self._session()
                reason = "connection lost"
                if reached:
                    attempt = 0
            except AmiAuthError as exc:
                self._set_state(ConnectionState.AUTH_FAILED, str(exc))
                raise
            except AmiFatalError as exc:
                self._set_state(ConnectionState.FATAL, str(exc))
                raise
            except (OSError, AmiRetryableError, TimeoutError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if self._closing:
                break
            delay = backoff_delay(
                attempt, self._config.reconnect_min, self._config.reconnect_max, self._rng()
            )
            attempt += 1
            self._set_state(ConnectionState.BACKOFF, f"{reason}; retrying in {delay:.1f}s")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass
        self._set_state(ConnectionState.CLOSED, "")

    async def close(self, timeout: float = 5.0) -> None:
        """Stop reconnecting, close the connection, and wait for `run()` to return."""
        self._closing = True
        self._wake.set()
        writer = self._writer
        if writer is not None:
            writer.close()
        if self._running.is_set():
            try:
                await asyncio.wait_for(self._stopped.wait(), timeout)
            except TimeoutError:
                log.warning("AMI client did not stop within %.1fs", timeout)

    def drop_connection(self) -> None:
        """Abort the current TCP connection (keep-alive failure, tests)."""
        writer = self._writer
        if writer is not None:
            writer.transport.abort()

    async def _session(self) -> bool:
        """One connection's life; returns True if it got as far as CONNECTED."""
        cfg = self._config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(cfg.host, cfg.port), cfg.action_timeout
        )
        parser = FrameParser()
        self._writer = writer
        reached = False
        tasks: list[asyncio.Task[None]] = []
        try:
            messages: list[Message] = []
            seen = b""
            while parser.banner is None and len(seen) < 256:
                chunk = await asyncio.wait_for(reader.read(65536), cfg.action_timeout)
                if not chunk:
                    raise AmiConnectionLost("AMI closed the connection before its banner")
                if self._raw_sink is not None:
                    self._raw_sink(chunk)
                seen += chunk
                messages.extend(parser.feed(chunk))
                if parser.banner is None and not b"Asterisk Call Manager/".startswith(seen[:22]):
                    break
            if parser.banner is None:
                raise AmiFatalError(
                    f"{cfg.host}:{cfg.port} did not greet as Asterisk Call Manager "
                    f"(got {seen[:40]!r}); check CALLCENTER_AMI_HOST/PORT"
                )
            self.banner = parser.banner
            for message in messages:
                self._dispatch(message)
            tasks.append(asyncio.create_task(self._read_loop(reader, parser), name="ami-reader"))
            await self._login()
            reached = True
            if self._ever_connected:
                self.reconnects += 1
            self._ever_connected = True
            self._set_state(ConnectionState.CONNECTED, f"Asterisk Call Manager/{self.banner}")
            self._connected.set()
            tasks.append(asyncio.create_task(self._keepalive(), name="ami-keepalive"))
            tasks.append(asyncio.create_task(self._run_hooks(), name="ami-resync"))
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
            for task in tasks[:2]:
                if task.done() and not task.cancelled():
                    exc = task.exception()
                    if exc is not None and not isinstance(exc, AmiRetryableError):
                        raise exc
            return reached
        finally:
            self._connected.clear()
            self._writer = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()
            self._fail_pending(
                AmiConnectionLost("AMI connection lost while the action was pending")
            )
            if not reached and self._state is ConnectionState.CONNECTED:
                self._set_state(ConnectionState.DISCONNECTED, "")

    async def _login(self) -> None:
        try:
            await self._send(
                "Login",
                {
                    "Username": self._config.username,
                    "Secret": self._config.secret,
                    "Events": "on",
                },
                timeout=self._config.action_timeout,
                require_connected=False,
            )
        except AmiActionFailed as exc:
            raise AmiAuthError(
                f"AMI login as {self._config.username!r} refused ({exc.message}); "
                "fix CALLCENTER_AMI_USER/CALLCENTER_AMI_SECRET; not retrying"
            ) from None

    async def _read_loop(self, reader: asyncio.StreamReader, parser: FrameParser) -> None:
        sink = self._raw_sink
        dispatch = self._dispatch
        while True:
            data = await reader.read(65536)
            if not data:
                lost = parser.take_partial()
                detail = f"; {lost.describe()}" if lost else ""
                raise AmiConnectionLost(f"Asterisk closed the AMI connection{detail}")
            if sink is not None:
                sink(data)
            for message in parser.feed(data):
                dispatch(message)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self._config.ping_interval)
            try:
                await self._send("Ping", {}, timeout=self._config.ping_timeout)
            except AmiActionTimeout:
                log.warning(
                    "AMI keep-alive: no Pong within %.1fs; reconnecting", self._config.ping_timeout
                )
                raise AmiConnectionLost("keep-alive deadline missed") from None

    async def _run_hooks(self) -> None:
        for hook in list(self._hooks):
            try:
                await hook(self)
            except asyncio.CancelledError:
                raise
            except AmiRetryableError as exc:
                log.warning("AMI resync hook %s interrupted: %s", _name(hook), exc)
                return
            except Exception:
                log.exception("AMI resync hook %s failed", _name(hook))

    # -- actions ----------------------------------------------------------------------

    async def action(
        self,
        action: str,
        fields: dict[str, str | list[str]] | None = None,
        *,
        timeout: float | None = None,
    ) -> Message:
        """Send an action and return its response; `Response: Error` raises AmiActionFailed."""
        return await self._send(action, fields or {}, timeout=timeout)

    async def tracked_action(
        self,
        action: str,
        fields: dict[str, str | list[str]] | None = None,
        *,
        timeout: float | None = None,
    ) -> tuple[Message, str]:
        """`action()`, plus the ActionID it went with: events that answer it later carry
        that ActionID (an async `Originate`'s `OriginateResponse`)."""
        pending = await self._start(action, fields or {})
        return await self._await(pending, timeout), pending.action_id

    async def list_action(
        self,
        action: str,
        fields: dict[str, str | list[str]] | None = None,
        *,
        timeout: float | None = None,
    ) -> ListResult:
        """An action answered by a list of events ending with `EventList: Complete`."""
        pending = await self._start(action, fields or {}, collect=True)
        response = await self._await(pending, timeout)
        return ListResult(pending.response or response, pending.events)

    async def _send(
        self,
        action: str,
        fields: dict[str, str | list[str]],
        *,
        timeout: float | None,
        require_connected: bool = True,
    ) -> Message:
        pending = await self._start(action, fields, require_connected=require_connected)
        return await self._await(pending, timeout)

    async def _start(
        self,
        action: str,
        fields: dict[str, str | list[str]],
        *,
        collect: bool = False,
        require_connected: bool = True,
    ) -> _Pending:
        writer = self._writer
        if writer is None or (require_connected and not self.connected):
            raise AmiNotConnected(f"{action} not sent: AMI is {self._state.value}")
        action_id = f"{self._id_prefix}-{next(self._ids)}"
        payload = encode_action(action, {**fields, "ActionID": action_id})
        pending = _Pending(
            action, asyncio.get_running_loop().create_future(), collect, action_id=action_id
        )
        self._pending[action_id] = pending
        try:
            writer.write(payload)
            await writer.drain()
        except (OSError, RuntimeError) as exc:
            self._pending.pop(action_id, None)
            raise AmiConnectionLost(f"{action} not sent: {exc}") from None
        pending_id = action_id
        pending.future.add_done_callback(lambda _f: self._pending.pop(pending_id, None))
        return pending

    async def _await(self, pending: _Pending, timeout: float | None) -> Message:
        limit = self._config.action_timeout if timeout is None else timeout
        try:
            response = await asyncio.wait_for(asyncio.shield(pending.future), limit)
        except TimeoutError:
            pending.future.cancel()
            raise AmiActionTimeout(f"{pending.action}: no response within {limit:.1f}s") from None
        if response.get("Response") == "Error":
            raise AmiActionFailed(pending.action, response.get("Message") or "no message")
        return response

    def _fail_pending(self, error: AmiError) -> None:
        pending, self._pending = self._pending, {}
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(error)
                # Mark retrieved: nobody may be awaiting a fire-and-forget action.
                item.future.exception()

    # -- inbound ----------------------------------------------------------------------

    def _dispatch(self, message: Message) -> None:
        headers = message.headers
        action_id = headers.get("ActionID")
        if action_id is not None:
            pending = self._pending.get(action_id)
            # Only a response, or an item of a list action, answers an action: Asterisk
            # copies ActionID into events too (Action: UserEvent), and those are events.
            if (
                pending is not None
                and not pending.future.done()
                and ("Response" in headers or pending.collect)
            ):
                self._resolve(pending, message)
                return
        if "Event" not in headers:
            if "Response" in headers:
                log.debug("AMI response for unknown ActionID %s", action_id)
            return
        self.events_received += 1
        for handler in self._handlers:
            try:
                handler(message)
            except Exception:
                key = (_name(handler), headers["Event"])
                if key not in self._failed_handlers:
                    self._failed_handlers.add(key)
                    log.exception(
                        "AMI event handler %s failed on %s; the connection stays up "
                        "(further failures of this pair are not logged)",
                        key[0],
                        key[1],
                    )

    @staticmethod
    def _resolve(pending: _Pending, message: Message) -> None:
        if pending.future.done():
            return
        if not pending.collect:
            pending.future.set_result(message)
            return
        if "Response" in message.headers:
            pending.response = message
            if message.headers["Response"] == "Error" or message.get("EventList") != "start":
                pending.future.set_result(message)
            return
        if message.get("EventList") == "Complete":
            pending.future.set_result(pending.response or message)
        else:
            pending.events.append(message)

    def _set_state(self, state: ConnectionState, detail: str) -> None:
        if state is self._state and state is not ConnectionState.BACKOFF:
            return
        previous, self._state = self._state, state
        for listener in list(self._state_listeners):
            try:
                listener(state, detail)
            except Exception:
                log.exception("AMI state listener failed")
        logged = self._logged_state
        if state in _DOWN and (logged is None or logged in _DOWN):
            # Still down (or never up): each retry is not news.
            if logged is None and state is ConnectionState.BACKOFF:
                log.warning(
                    "AMI %s:%s unavailable: %s",
                    self._config.host,
                    self._config.port,
                    detail,
                )
                self._logged_state = state
            return
        if state is ConnectionState.CONNECTED:
            log.info("AMI connected to %s:%s (%s)", self._config.host, self._config.port, detail)
        elif state in _DOWN:
            log.warning("AMI connection lost (%s); reconnecting", detail or previous.value)
        elif state is ConnectionState.AUTH_FAILED or state is ConnectionState.FATAL:
            log.error("AMI %s: %s", state.value, detail)
        elif state is ConnectionState.CLOSED:
            log.info("AMI connection closed")
        self._logged_state = state


def _name(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__name__
