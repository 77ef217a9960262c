"""A deliberately tiny AMI client for tests and transcript recording.

Independent of `callcenter.ami` on purpose: tests of the Asterisk runtime and
the recorded transcripts must not depend on the code they will be used to test.
It keeps every byte received (`raw`) so a session can be saved verbatim.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from types import TracebackType
from typing import Self

Message = dict[str, str]


def parse_frame(frame: bytes) -> Message:
    """One AMI message (without its blank-line terminator) as a dict; first header wins."""
    message: Message = {}
    for line in frame.decode("utf-8", errors="replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key not in message:
            message[key] = value.strip()
    return message


class RawAmi:
    def __init__(self, host: str, port: int, username: str, secret: str) -> None:
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.raw = bytearray()
        self.events: list[Message] = []
        self.banner = ""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._lists: dict[str, list[Message]] = {}
        self.list_results: dict[str, list[Message]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    async def connect(self, *, login: bool = True, within: float = 5.0) -> None:
        reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), within
        )
        self._reader = reader
        line = await asyncio.wait_for(reader.readline(), within)
        self.raw += line
        self.banner = line.decode().strip()
        self._task = asyncio.create_task(self._read_loop(), name="raw-ami-reader")
        if login:
            reply = await self.action("Login", Username=self.username, Secret=self.secret)
            if reply.get("Response") != "Success":
                raise ConnectionError(f"AMI login failed: {reply}")

    async def _read_loop(self) -> None:
        assert self._reader is not None
        buffer = b""
        while True:
            chunk = await self._reader.read(65536)
            if not chunk:
                break
            self.raw += chunk
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                frame, buffer = buffer.split(b"\r\n\r\n", 1)
                await self._dispatch(parse_frame(frame))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("AMI connection closed"))

    async def _dispatch(self, message: Message) -> None:
        action_id = message.get("ActionID", "")
        if "Response" in message and action_id in self._pending:
            if message.get("EventList") == "start":
                self._lists[action_id] = []
                return
            self._pending.pop(action_id).set_result(message)
            return
        if "Event" in message and action_id in self._lists:
            if message.get("EventList") == "Complete":
                items = self._lists.pop(action_id)
                future = self._pending.pop(action_id, None)
                if future is not None:
                    future.set_result({**message, "_items": str(len(items))})
                    self.list_results[action_id] = items
            else:
                self._lists[action_id].append(message)
            return
        async with self._changed:
            self.events.append(message)
            self._changed.notify_all()

    async def action(self, name: str, *, within: float = 10.0, **headers: str) -> Message:
        """Send an action; return its response (for list actions: the Complete event)."""
        return await self.send(name, headers, within)

    async def send(self, name: str, headers: dict[str, str], within: float = 10.0) -> Message:
        assert self._writer is not None
        action_id = f"t{next(self._ids)}"
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._writer.drain()
        reply = await asyncio.wait_for(future, within)
        reply.setdefault("ActionID", action_id)
        return reply

    async def list_action(self, name: str, **headers: str) -> list[Message]:
        """A list action's items (e.g. PJSIPShowContacts -> ContactList events)."""
        reply = await self.send(name, headers)
        if reply.get("Response") == "Error":
            return []
        return self.list_results.pop(reply["ActionID"], [])

    async def command(self, cli: str) -> str:
        reply = await self.action("Command", Command=cli)
        return reply.get("Output", "")

    async def wait_event(
        self,
        name: str,
        within: float = 20.0,
        *,
        since: int = 0,
        where: Callable[[Message], bool] | None = None,
    ) -> Message:
        def find() -> Message | None:
            for event in self.events[since:]:
                if event.get("Event") == name and (where is None or where(event)):
                    return event
            return None

        async def wait() -> Message:
            async with self._changed:
                while (found := find()) is None:
                    await self._changed.wait()
                return found

        try:
            return await asyncio.wait_for(wait(), within)
        except TimeoutError:
            seen = [e.get("Event") for e in self.events[since:]]
            raise AssertionError(f"no AMI {name} within {within} s; saw {seen}") from None

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.action("Logoff", within=2), 2)
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
            self._writer = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def settle(ami: RawAmi, calls: int, within: float = 30.0) -> None:
    """Wait until `calls` caller legs have hung up, then let late events arrive."""

    def caller_hangups() -> int:
        return sum(
            1
            for e in ami.events
            if e.get("Event") == "Hangup" and e.get("Context") == "from-callers"
        )

    deadline = asyncio.get_running_loop().time() + within
    while caller_hangups() < calls:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("calls did not end")
        await asyncio.sleep(0.1)
    await asyncio.sleep(2.0)  # AgentComplete and QueueMemberStatus can follow the Hangup
