"""Per-call greeting-script facts that need no ASR, from the finished call record.

- dead air: seconds from the bridge to the agent's first speech, measured on
  the recording of the agent's own voice (MixMonitor `r()`, next to the agent
  leg: `<uniqueid>-agent-voice.wav`);
- who hung up first: an agent hanging up before the customer is a defect.

`ComplianceSink` is the record sink that measures off the event loop and
stores the facts (`callcenter.compliance.domain.compliance_facts` decides them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from callcenter.calls.record import CallRecord, Outcome
from callcenter.compliance.dead_air import DeadAirError, dead_air_seconds
from callcenter.compliance.domain import Compliance, compliance_facts, voice_path
from callcenter.compliance.store import ComplianceRepository

log = logging.getLogger(__name__)


class ComplianceSink:
    """A `RecordSink`: measures each answered call's agent voice and stores the facts."""

    def __init__(
        self,
        repository: ComplianceRepository,
        recordings_dir: Path,
        *,
        max_dead_air: float = 3.0,
        staff_of: Callable[[str], str | None] = lambda endpoint: None,
        file_wait: float = 5.0,
    ) -> None:
        self._staff_of = staff_of
        self._repo = repository
        self._dir = recordings_dir
        self._max = max_dead_air
        self._file_wait = file_wait
        self._tasks: set[asyncio.Task[None]] = set()
        self.measured = 0
        # Told of each call's facts once saved (the live dashboard's flags today).
        self.listeners: list[Callable[[Compliance], None]] = []

    def submit(self, record: CallRecord) -> None:
        if record.outcome is not Outcome.ANSWERED or record.agent is None or record.reconstructed:
            return
        task = asyncio.get_running_loop().create_task(self._measure(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _measure(self, record: CallRecord) -> None:
        agent_legs = [s for s in record.recordings if s.leg == "agent"]
        dead_air: float | None = None
        found = False
        if agent_legs:
            path = self._dir / voice_path(agent_legs[-1].path)
            found = await self._wait_for(path)
            if found:
                try:
                    dead_air = await asyncio.to_thread(dead_air_seconds, path)
                except DeadAirError as exc:
                    log.warning("dead air of call %s not measured: %s", record.linkedid, exc)
                    found = False
        facts = compliance_facts(
            record,
            dead_air,
            voice_found=found,
            max_dead_air=self._max,
            staff_no=self._staff_of(record.agent or ""),
        )
        if facts is None:
            return
        try:
            await self._repo.save(facts, time.time())
            self.measured += 1
        except Exception as exc:
            log.warning("compliance facts of call %s not saved: %s", record.linkedid, exc)
        for listener in list(self.listeners):
            try:
                listener(facts)
            except Exception:
                log.exception("compliance listener failed")

    async def _wait_for(self, path: Path) -> bool:
        """MixMonitor closes the file a moment after the hang-up."""
        deadline = time.monotonic() + self._file_wait
        while time.monotonic() < deadline:
            if await asyncio.to_thread(_has_audio, path):
                return True
            await asyncio.sleep(0.2)
        return await asyncio.to_thread(_has_audio, path)


def _has_audio(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 44
