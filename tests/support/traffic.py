"""Calls through the test Asterisk's queue: agents as app_queue members, callers who talk.

The dialplan falls back to app_queue when the router is not running (the
call-log tests run without it): `in_queue` adds agents as members for a block.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.support.asterisk_fixtures import TestAsterisk
from tests.support.softphone import Softphone


@contextlib.asynccontextmanager
async def in_queue(asterisk: TestAsterisk, *agents: str) -> AsyncIterator[None]:
    async with asterisk.ami() as ami:
        for agent in agents:
            await ami.action("QueueAdd", Queue="support", Interface=f"PJSIP/{agent}")
    try:
        yield
    finally:
        # A fresh connection: the test may have restarted Asterisk meanwhile, and
        # members are persistent across restarts (queues.conf persistentmembers).
        async with asterisk.ami() as ami:
            for agent in agents:
                await ami.action("QueueRemove", Queue="support", Interface=f"PJSIP/{agent}")


async def talk(caller: Softphone, number: str, seconds: float) -> None:
    await caller.dial(number)
    await caller.wait_event("CALL_ESTABLISHED", 15)
    await asyncio.sleep(seconds)
    await caller.hangup()
