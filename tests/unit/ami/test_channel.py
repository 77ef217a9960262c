"""Channel and interface names -> endpoints, on names as Asterisk writes them."""

from __future__ import annotations

import pytest

from callcenter.ami.channel import channel_endpoint, interface_endpoint


@pytest.mark.parametrize(
    ("channel", "endpoint"),
    [
        ("PJSIP/1001-0000000a", "1001"),  # Hangup, DialBegin's DestChannel, CoreShowChannels
        ("PJSIP/1001", "1001"),  # DeviceStateChange's Device
        ("PJSIP/front-desk-00000003", "front-desk"),  # only the per-call suffix goes
        ("1001", "1001"),  # a bare name (the AgentConnected user event's Agent)
        ("front-desk", "front-desk"),
        ("", None),
        (None, None),
    ],
)
def test_channel_endpoint(channel: str | None, endpoint: str | None) -> None:
    assert channel_endpoint(channel) == endpoint


@pytest.mark.parametrize(
    ("interface", "endpoint"),
    [("PJSIP/1001", "1001"), ("1001", "1001"), ("PJSIP/", None), ("", None), (None, None)],
)
def test_interface_endpoint(interface: str | None, endpoint: str | None) -> None:
    assert interface_endpoint(interface) == endpoint
