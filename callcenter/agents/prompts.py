"""Each agent's staff-number announcement, generated into the Asterisk instance's sounds.

The caller hears it when the agent connects (Dial's `A(:prompt)`). Rendering
runs in a thread (espeak-ng and sox take a few hundred milliseconds); an agent
whose prompt could not be made connects with a short silence instead, and the
failure is logged with the tool's fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from callcenter.agents.domain import Agent
from callcenter.asterisk.instance import instance_for
from callcenter.asterisk.prompts import PromptError, render_prompt, staff_number_text
from callcenter.config import Config

log = logging.getLogger(__name__)
FALLBACK = "silence/1"


class AgentPrompts:
    def __init__(self, config: Config) -> None:
        instance = instance_for(config.asterisk)
        self._host_dir = instance.sounds_host_dir / "agents"
        self._asterisk_dir = instance.sounds_asterisk_dir / "agents"
        self._template = config.router.staff_prompt
        self._voice = config.router.prompt_voice
        self.failures: dict[str, str] = {}

    def text(self, agent: Agent) -> str:
        return staff_number_text(agent.staff_no, self._template)

    def playback(self, agent: Agent) -> str:
        if (self._host_dir / f"{agent.staff_no}.wav").is_file():
            return str(self._asterisk_dir / agent.staff_no)
        return FALLBACK

    async def ensure(self, agents: Sequence[Agent]) -> None:
        for agent in agents:
            try:
                await asyncio.to_thread(
                    render_prompt,
                    self.text(agent),
                    self._host_dir,
                    name=agent.staff_no,
                    voice=self._voice,
                )
                self.failures.pop(agent.staff_no, None)
            except (PromptError, ValueError, OSError) as exc:
                self.failures[agent.staff_no] = str(exc)
                log.warning("staff-number prompt for agent %s not made: %s", agent.staff_no, exc)
