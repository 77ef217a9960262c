"""Asterisk channel and interface names -> the PJSIP endpoint they belong to.

The endpoint is an agent's stable identity; a channel name adds the technology
in front and a per-call suffix after it (`PJSIP/1001-0000000a`).
"""

from __future__ import annotations


def channel_endpoint(channel: str | None) -> str | None:
    """`PJSIP/1001-0000000a` -> `1001`, `PJSIP/1001` -> `1001`; a bare name (no
    technology, e.g. a queue member's name) is taken as the endpoint as it is."""
    if not channel:
        return None
    name = channel.split("/", 1)[-1]
    return name.rsplit("-", 1)[0] if "/" in channel and "-" in name else name


def interface_endpoint(interface: str | None) -> str | None:
    """A queue member's interface (`PJSIP/1001`) -> `1001`."""
    if not interface:
        return None
    return interface.rsplit("/", 1)[-1] or None
