"""A FastAGI client that talks like Asterisk's res_agi: the environment, then one reply
per command. Tests use it as Asterisk would, and as a local process forging requests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


def agi_environment(script: str, args: Sequence[str], port: int, channel: str) -> bytes:
    """What Asterisk 22 sends for `AGI(agi://127.0.0.1:PORT/SCRIPT,args...)` (seen on 22.10.1:
    the query stays in `agi_network_script`)."""
    lines = [
        "agi_network: yes",
        f"agi_network_script: {script}",
        f"agi_request: agi://127.0.0.1:{port}/{script}",
        f"agi_channel: {channel}",
        "agi_language: en",
        "agi_type: PJSIP",
        "agi_uniqueid: 1700000000.1",
        "agi_version: 22.10.1",
        *(f"agi_arg_{i}: {arg}" for i, arg in enumerate(args, 1)),
    ]
    return ("\n".join(lines) + "\n\n").encode()


async def send_agi(
    port: int,
    script: str,
    args: Sequence[str] = (),
    *,
    channel: str = "PJSIP/2001-00000001",
    timeout: float = 5.0,
) -> list[str]:
    """Send one request; return the commands the server sent, in order, until it hung up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    commands: list[str] = []
    try:
        writer.write(agi_environment(script, args, port, channel))
        await writer.drain()
        while line := await asyncio.wait_for(reader.readline(), timeout):
            commands.append(line.decode().rstrip("\n"))
            writer.write(b"200 result=1\n")
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()
    return commands
