"""Supervisor actions on a live call: listen in, whisper, barge (Asterisk's ChanSpy).

Pure: which of Asterisk's live channels is the agent's, and the `Originate`
that rings the supervisor's own phone and, once answered, runs ChanSpy on it.
ChanSpy options: `q` no beep or name announcement, `b` only a bridged call,
`E` leave when the agent's channel hangs up; `w` whisper (the agent hears the
supervisor, the caller does not), `B` barge (both hear the supervisor).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from callcenter.kernel.errors import DomainError

SPY_MODES: Final = {"listen": "qbE", "whisper": "qbEw", "barge": "qbEB"}
_UP = "6"


class SuperviseError(DomainError, ValueError):
    conflict_ids = frozenset({"agent-not-on-call"})


def agent_channel(
    channels: Iterable[Mapping[str, str | None]], endpoint: str, linkedid: str | None
) -> str:
    """The agent's live channel (`PJSIP/<endpoint>-xxxxxxxx`) from CoreShowChannel rows.

    The call the board says the agent is on wins; otherwise the one channel
    that is up. No channel, or several with nothing to choose by: an error.
    """
    prefix = f"PJSIP/{endpoint}-"
    mine = [c for c in channels if (c.get("Channel") or "").startswith(prefix)]
    if linkedid:
        on_call = [c for c in mine if c.get("Linkedid") == linkedid]
        if on_call:
            mine = on_call
    up = [c for c in mine if c.get("ChannelState") == _UP] or mine
    if not up:
        raise SuperviseError(
            "agent-not-on-call", f"endpoint {endpoint} has no live call to listen to"
        )
    return up[0].get("Channel") or ""


def spy_originate(
    mode: str, supervisor_endpoint: str, channel: str, staff_no: str, ring_seconds: int = 30
) -> dict[str, str | list[str]]:
    """The Originate fields: ring the supervisor's phone, then ChanSpy on `channel`."""
    options = SPY_MODES.get(mode)
    if options is None:
        raise SuperviseError("unknown-action", f"unknown supervisor action {mode!r}")
    return {
        "Channel": f"PJSIP/{supervisor_endpoint}",
        "Application": "ChanSpy",
        "Data": f"{channel},{options}",
        "CallerID": f'"{mode} {staff_no}" <{staff_no}>',
        "Timeout": str(ring_seconds * 1000),
        "Async": "true",
        "Variable": [f"CC_SPY_MODE={mode}", f"CC_SPY_AGENT={staff_no}"],
    }
