"""app_queue's members kept in line with the agent board: the dialplan's fallback.

Without the router (FastAGI unreachable) the dialplan rings app_queue with the
budget left, so its members must be the agents as the board sees them: added
when available, paused (with the reason) while paused or wrapping up, removed
at logout. Driven by the agent service's transitions; each transition's AMI
actions run in order in one task under the supervisor.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from callcenter.agents.domain import Agent, AgentBoard, AgentState, Transition
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiError
from callcenter.kernel.supervisor import TaskSupervisor

log = logging.getLogger(__name__)


class QueueProjection:
    def __init__(self, board: AgentBoard, ami: AmiClient, supervisor: TaskSupervisor) -> None:
        self._board = board
        self._ami = ami
        self._supervisor = supervisor
        self._tasks: set[asyncio.Task[Any]] = set()

    def on_transitions(self, transitions: list[Transition]) -> None:
        if not self._ami.connected:
            return
        for t in transitions:
            agent = self._board.agents.get(t.staff_no)
            if agent is None:
                continue
            task = self._supervisor.spawn(
                f"queue-member-{agent.staff_no}", self._project(agent, t.new, t.reason)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel the actions still in flight (at shutdown)."""
        await self._supervisor.cancel(list(self._tasks))

    async def _project(self, agent: Agent, state: AgentState, reason: str | None) -> None:
        interface = f"PJSIP/{agent.endpoint}"
        try:
            for queue in sorted(agent.skills):
                if state is AgentState.LOGGED_OUT:
                    await self._ami.action("QueueRemove", {"Queue": queue, "Interface": interface})
                    continue
                if state is AgentState.AVAILABLE:
                    await self._ami.action(
                        "QueueAdd",
                        {"Queue": queue, "Interface": interface, "MemberName": agent.staff_no},
                    )
                paused = state in (AgentState.PAUSED, AgentState.WRAP_UP)
                if state in (AgentState.AVAILABLE, AgentState.PAUSED, AgentState.WRAP_UP):
                    await self._ami.action(
                        "QueuePause",
                        {
                            "Queue": queue,
                            "Interface": interface,
                            "Paused": "true" if paused else "false",
                            "Reason": reason or state.value,
                        },
                    )
        except AmiError as exc:
            # "Already there" / "not there" are fine; anything else is logged once here.
            log.debug("app_queue projection for %s: %s", agent.staff_no, exc)
