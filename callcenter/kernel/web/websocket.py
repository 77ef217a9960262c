"""Serve one WebSocket client from a `Broadcaster` (callcenter.kernel.fanout).

Each WebSocket has one sender task draining its own bounded queue, so a
client stuck in TCP back-pressure only ever blocks its own sender (aiohttp's
own broadcast example awaits `send_str` client after client, so one slow
client stalls all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web

from callcenter.kernel.fanout import (
    CLIENT_GONE,
    CLOSED,
    SLOW_CLIENT,
    Broadcaster,
    Message,
)

log = logging.getLogger(__name__)

SEND_BUFFER: Final = 128 * 1024  # bytes of kernel send buffer per WebSocket


async def _send(ws: web.WebSocketResponse, message: Message) -> None:
    if isinstance(message, str):
        await ws.send_str(message)
    else:
        await ws.send_bytes(message)


async def serve_websocket(
    request: web.Request,
    broadcaster: Broadcaster,
    *,
    initial: Callable[[], Message] | None = None,
    topics: Iterable[str] | str | None = None,
    maxsize: int | None = None,
    on_message: Callable[[str], Awaitable[None]] | None = None,
    heartbeat: float | None = 30.0,
    close_timeout: float = 1.0,
    send_buffer: int | None = SEND_BUFFER,
) -> web.WebSocketResponse:
    """Serve one WebSocket client from `broadcaster` until either side ends.

    `initial()` (e.g. a snapshot) is sent first; it is computed right after
    subscribing, in the same step, so no update published in between is lost.
    Text frames from the client go to `on_message` (ignored when None).
    `send_buffer` caps the socket's kernel send buffer: Linux grows it up to
    4 MB per socket for a client that stopped reading, which would hide a dead
    client behind megabytes of buffered updates (and cost 800 MB for 200).
    """
    ws = web.WebSocketResponse(heartbeat=heartbeat)
    await ws.prepare(request)
    raw = request.transport.get_extra_info("socket") if request.transport else None
    if send_buffer is not None and raw is not None:
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sub = broadcaster.subscribe(topics, maxsize=maxsize, label=request.remote or "")
    try:
        first = initial() if initial is not None else None
    except BaseException:
        sub.close(CLOSED)
        await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"snapshot failed")
        raise

    async def sender() -> None:
        if first is not None:
            await _send(ws, first)
        async for message in sub:
            await _send(ws, message)

    async def reader() -> None:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT and on_message is not None:
                await on_message(msg.data)

    send_task = asyncio.create_task(sender(), name="ws-sender")
    read_task = asyncio.create_task(reader(), name="ws-reader")
    # A drop must also end a sender stuck in back-pressure, so watch the close.
    dropped: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def wake(reason: str) -> None:
        if not dropped.done():
            dropped.set_result(reason)

    undo = sub.on_close(wake)
    try:
        waiting: set[asyncio.Future[Any]] = {send_task, read_task, dropped}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        undo()
        reason = (sub.close_reason or CLOSED) if sub.closed else CLIENT_GONE
        sub.close(reason)
        for task in (send_task, read_task):
            task.cancel()
        await asyncio.gather(send_task, read_task, return_exceptions=True)
        code = WSCloseCode.TRY_AGAIN_LATER if reason == SLOW_CLIENT else WSCloseCode.GOING_AWAY
        if reason == SLOW_CLIENT:
            log.info("dropped slow WebSocket client %s from %s", sub.label, broadcaster.name)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=code, message=reason.encode()), close_timeout)
    return ws
