"""Each agent's staff-number announcement, in the Asterisk instance's sounds.

The caller hears it when the agent connects (Dial's `A(:prompt)`), after the
agent answered and before the bridge: it never counts against the ring budget,
but every second of it keeps caller and agent apart, so it lasts at most
`MAX_STAFF_PROMPT_SECONDS`. It is generated (espeak-ng and sox, in a thread:
a few hundred milliseconds) from the configured text, or recorded by the agent
and uploaded (`PUT /api/agents/{staff_no}/prompt`, `callcenter agent prompt`),
which then wins. An agent whose prompt could not be made connects with a
short silence instead, and the failure is logged with the tool's fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from callcenter.agents.domain import Agent
from callcenter.asterisk.instance import instance_for
from callcenter.asterisk.prompts import (
    MAX_STAFF_PROMPT_SECONDS,
    STAFF_RATE,
    PromptError,
    convert_recording,
    render_prompt,
    staff_number_text,
    wav_seconds,
)
from callcenter.config import Config

log = logging.getLogger(__name__)
FALLBACK = "silence/1"
RECORDED = "recorded"  # the uploaded recordings' subdirectory


@dataclass(frozen=True)
class PromptInfo:
    """Which announcement an agent's callers hear, and how long it lasts."""

    source: str  # "recorded", "generated" or "silence" (nothing could be made)
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "seconds": round(self.seconds, 3)}


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
        if (self._host_dir / RECORDED / f"{agent.staff_no}.wav").is_file():
            return str(self._asterisk_dir / RECORDED / agent.staff_no)
        if (self._host_dir / f"{agent.staff_no}.wav").is_file():
            return str(self._asterisk_dir / agent.staff_no)
        return FALLBACK

    def info(self, agent: Agent) -> PromptInfo:
        for source, path in (
            ("recorded", self._host_dir / RECORDED / f"{agent.staff_no}.wav"),
            ("generated", self._host_dir / f"{agent.staff_no}.wav"),
        ):
            try:
                return PromptInfo(source, wav_seconds(path))
            except (OSError, EOFError, ValueError):
                continue
        return PromptInfo("silence", 1.0)

    async def ensure(self, agents: Sequence[Agent]) -> None:
        for agent in agents:
            try:
                await asyncio.to_thread(
                    render_prompt,
                    self.text(agent),
                    self._host_dir,
                    name=agent.staff_no,
                    voice=self._voice,
                    rate=STAFF_RATE,
                    max_seconds=MAX_STAFF_PROMPT_SECONDS,
                )
                self.failures.pop(agent.staff_no, None)
            except (PromptError, ValueError, OSError) as exc:
                self.failures[agent.staff_no] = str(exc)
                log.warning("staff-number prompt for agent %s not made: %s", agent.staff_no, exc)

    async def upload(self, agent: Agent, data: bytes) -> PromptInfo:
        """Store the agent's own recording (any WAV sox reads), which then replaces the
        generated one; refused with `prompt-*` errors, the previous prompt kept."""
        seconds = await asyncio.to_thread(
            convert_recording,
            data,
            self._host_dir / RECORDED,
            name=agent.staff_no,
            max_seconds=MAX_STAFF_PROMPT_SECONDS,
        )
        log.info("agent %s: recorded announcement stored (%.2f s)", agent.staff_no, seconds)
        return PromptInfo("recorded", seconds)

    async def remove_recording(self, agent: Agent) -> bool:
        """Back to the generated announcement; False: there was no recording."""
        path = self._host_dir / RECORDED / f"{agent.staff_no}.wav"
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True
