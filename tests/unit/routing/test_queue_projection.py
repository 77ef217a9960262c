"""app_queue members follow the board: which AMI actions, in which order, in whose tasks."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import call, create_autospec

from callcenter.agents.domain import Agent, AgentBoard
from callcenter.ami.client import AmiClient
from callcenter.kernel.supervisor import TaskSupervisor
from callcenter.routing.queue_projection import QueueProjection

IFACE = "PJSIP/ep1"


def _projection(connected: bool = True) -> tuple[QueueProjection, AgentBoard, Any, TaskSupervisor]:
    board = AgentBoard()
    board.add(Agent("1001", "A", "ep1", frozenset({"support", "sales"})))
    ami = create_autospec(AmiClient, instance=True)
    ami.connected = connected
    supervisor = TaskSupervisor()
    return QueueProjection(board, ami, supervisor), board, ami, supervisor


async def _settled() -> None:
    await asyncio.gather(
        *[t for t in asyncio.all_tasks() if t.get_name().startswith("queue-member-")]
    )


async def test_login_pause_logout_become_queue_add_pause_remove_per_skill_in_order() -> None:
    projection, board, ami, supervisor = _projection()
    projection.on_transitions(board.login("1001", 1.0))
    assert supervisor.running == ["queue-member-1001"]  # the supervisor owns the task
    await _settled()
    projection.on_transitions(board.pause("1001", "break", 2.0))
    await _settled()
    projection.on_transitions(board.unpause("1001", 3.0))
    await _settled()
    projection.on_transitions(board.logout("1001", 4.0))
    await _settled()
    assert ami.action.await_args_list == [
        call("QueueAdd", {"Queue": "sales", "Interface": IFACE, "MemberName": "1001"}),
        call(
            "QueuePause",
            {"Queue": "sales", "Interface": IFACE, "Paused": "false", "Reason": "available"},
        ),
        call("QueueAdd", {"Queue": "support", "Interface": IFACE, "MemberName": "1001"}),
        call(
            "QueuePause",
            {"Queue": "support", "Interface": IFACE, "Paused": "false", "Reason": "available"},
        ),
        call(
            "QueuePause",
            {"Queue": "sales", "Interface": IFACE, "Paused": "true", "Reason": "break"},
        ),
        call(
            "QueuePause",
            {"Queue": "support", "Interface": IFACE, "Paused": "true", "Reason": "break"},
        ),
        # Unpausing carries the pause's reason (reports see what ended).
        call("QueueAdd", {"Queue": "sales", "Interface": IFACE, "MemberName": "1001"}),
        call(
            "QueuePause",
            {"Queue": "sales", "Interface": IFACE, "Paused": "false", "Reason": "break"},
        ),
        call("QueueAdd", {"Queue": "support", "Interface": IFACE, "MemberName": "1001"}),
        call(
            "QueuePause",
            {"Queue": "support", "Interface": IFACE, "Paused": "false", "Reason": "break"},
        ),
        call("QueueRemove", {"Queue": "sales", "Interface": IFACE}),
        call("QueueRemove", {"Queue": "support", "Interface": IFACE}),
    ]
    assert supervisor.running == []


async def test_nothing_is_sent_while_asterisk_is_not_connected() -> None:
    projection, board, ami, supervisor = _projection(connected=False)
    projection.on_transitions(board.login("1001", 1.0))
    assert supervisor.running == []
    ami.action.assert_not_awaited()


async def test_close_cancels_the_actions_in_flight() -> None:
    projection, board, ami, supervisor = _projection()

    async def hang(*args: Any) -> None:
        await asyncio.sleep(10)

    ami.action.side_effect = hang
    projection.on_transitions(board.login("1001", 1.0))
    await asyncio.sleep(0)
    await projection.close()
    assert supervisor.running == [] and supervisor.failures == 0
