"""What Asterisk needs for each agent: a PJSIP endpoint and a staff-number prompt."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Literal

from callcenter.agents.domain import Agent
from callcenter.agents.endpoints import write_endpoints
from callcenter.agents.prompts import AgentPrompts
from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiActionFailed, AmiError
from callcenter.ami.message import Message
from callcenter.asterisk.instance import instance_for
from callcenter.config import Config

log = logging.getLogger(__name__)


class AgentProvisioning:
    def __init__(self, config: Config, ami: AmiClient) -> None:
        self.prompts = AgentPrompts(config)
        self._instance = instance_for(config.asterisk)
        self._ami = ami

    async def apply(self, agents: Sequence[Agent]) -> None:
        await self.prompts.ensure(agents)
        try:
            changed = await asyncio.to_thread(
                write_endpoints, self._instance.config_dir, self._instance.lib_dir, agents
            )
        except OSError as exc:
            log.warning("agent endpoints not written (%s): new agents cannot register", exc)
            return
        if changed and self._ami.connected:
            try:
                await self._ami.action("Command", {"Command": "module reload res_pjsip.so"})
            except AmiError as exc:
                log.warning("res_pjsip reload failed (%s): new agents register after a reload", exc)

    async def endpoint_exists(self, endpoint: str) -> bool | None:
        """True/False from Asterisk; None when Asterisk cannot be asked right now."""
        shown = await self._show_endpoint(endpoint)
        return None if shown is None else shown is not False

    async def registered(self, endpoint: str) -> bool | None:
        """Whether a phone is registered at `endpoint`: Asterisk 22's `PJSIPShowEndpoint`
        says `DeviceState: Unavailable` while no contact is registered (seen on 22.10.1;
        `DeviceStateList` lists no PJSIP devices there). None: Asterisk cannot be asked
        now; False also for an endpoint Asterisk does not have."""
        shown = await self._show_endpoint(endpoint)
        if shown is None or shown is False:
            return shown
        for event in shown:
            if event.name == "EndpointDetail":
                return not phone_unavailable(event.get("DeviceState"))
        return None

    async def _show_endpoint(self, endpoint: str) -> list[Message] | Literal[False] | None:
        """`PJSIPShowEndpoint`'s events; False: Asterisk has no such endpoint; None:
        Asterisk cannot be asked now."""
        if not self._ami.connected:
            return None
        try:
            result = await self._ami.list_action("PJSIPShowEndpoint", {"Endpoint": endpoint})
        except AmiActionFailed:
            return False
        except AmiError:
            return None
        return list(result.events)

    async def unregistered(self) -> set[str] | None:
        """Every endpoint without a registered phone (`PJSIPShowEndpoints`, one action
        for all); None when Asterisk cannot be asked now."""
        if not self._ami.connected:
            return None
        try:
            result = await self._ami.list_action("PJSIPShowEndpoints")
        except AmiError as exc:
            log.warning("endpoint states not read (%s)", exc)
            return None
        return {
            event.get("ObjectName") or ""
            for event in result.events
            if event.name == "EndpointList" and phone_unavailable(event.get("DeviceState"))
        } - {""}


def phone_unavailable(device_state: str | None) -> bool:
    """`DeviceState` as PJSIPShowEndpoint(s) write it: `Unavailable` (no contact
    registered, or none reachable), `Not in use`, `In use`, `Ringing`, ..."""
    return (device_state or "").strip().lower() == "unavailable"
