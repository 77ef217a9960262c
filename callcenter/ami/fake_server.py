"""A scriptable AMI server for tests of failure modes a real Asterisk won't produce on cue.

It speaks the same wire format (banner, `Login`, `Ping`, ActionID echo) and
can drop connections mid-frame, go silent, refuse logins or push raw bytes.
Tests of normal behaviour run against the real Asterisk instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from callcenter.ami.frame import FrameParser
from callcenter.ami.message import Message

ActionHandler = Callable[[Message], list[bytes] | None]


def frame(*pairs: tuple[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode("utf-8")


class FakeAmiServer:
    def __init__(self, *, username: str = "user", secret: str = "secret") -> None:
        self.username = username
        self.secret = secret
        self.banner = b"Asterisk Call Manager/11.0.0\r\n"
        self.handlers: dict[str, ActionHandler] = {}
        self.received: list[Message] = []
        self.answer_pings = True
        self.logins = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.connected = asyncio.Event()

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        await self.stop_listening()
        self.drop_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        self.connected.clear()

    def push(self, data: bytes) -> None:
        """Send raw bytes to every connected client (events, half frames...)."""
        for writer in list(self._writers):
            writer.write(data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        parser = FrameParser()
        parser.feed(b"")  # no banner expected from clients
        try:
            writer.write(self.banner)
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                for message in parser.feed(data):
                    self.received.append(message)
                    for chunk in self._answer(message):
                        writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    def _answer(self, message: Message) -> list[bytes]:
        action = message.get("Action") or ""
        action_id = message.get("ActionID") or ""
        if action == "Login":
            if message.get("Username") == self.username and message.get("Secret") == self.secret:
                self.logins += 1
                self.connected.set()
                return [
                    frame(
                        ("Response", "Success"),
                        ("ActionID", action_id),
                        ("Message", "Authentication accepted"),
                    ),
                    frame(("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", "5")),
                ]
            return [
                frame(
                    ("Response", "Error"),
                    ("ActionID", action_id),
                    ("Message", "Authentication failed"),
                )
            ]
        if action == "Ping":
            if not self.answer_pings:
                return []
            return [frame(("Response", "Success"), ("ActionID", action_id), ("Ping", "Pong"))]
        handler = self.handlers.get(action)
        if handler is not None:
            chunks = handler(message)
            return chunks or []
        return [
            frame(
                ("Response", "Error"),
                ("ActionID", action_id),
                ("Message", "Invalid/unknown command"),
            )
        ]
