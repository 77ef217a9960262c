"""The AMI client's failure handling, against the scriptable fake server.

Normal behaviour (login, events, actions, an Asterisk restart) is tested
against the real Asterisk in tests/integration/test_ami_live.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from callcenter.ami.client import AmiClient, ConnectionState, backoff_delay
from callcenter.ami.errors import (
    AmiActionFailed,
    AmiAuthError,
    AmiConnectionLost,
    AmiFatalError,
    AmiNotConnected,
)
from callcenter.ami.fake_server import FakeAmiServer, frame
from callcenter.ami.message import Message
from callcenter.config import AmiConfig


def _config(port: int, **overrides: float | str) -> AmiConfig:
    values: dict[str, float | str] = {
        "reconnect_min": 0.02,
        "reconnect_max": 0.1,
        "ping_interval": 30.0,
        "action_timeout": 2.0,
    }
    values.update(overrides)
    return AmiConfig(host="127.0.0.1", port=port, username="user", secret="secret", **values)  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    fake = FakeAmiServer()
    await fake.start()
    yield fake
    await fake.stop()


@contextlib.asynccontextmanager
async def running(client: AmiClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run(), name="ami-test-client")
    try:
        yield task
    finally:
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


async def test_login_and_events_reach_subscribers(server: FakeAmiServer) -> None:
    client = AmiClient(_config(server.port))
    seen: list[Message] = []
    unsubscribe = client.subscribe(seen.append)
    async with running(client):
        await client.wait_connected(5)
        server.push(frame(("Event", "Newchannel"), ("Uniqueid", "1.1"), ("Linkedid", "1.1")))
        for _ in range(100):
            if any(m.name == "Newchannel" for m in seen):
                break
            await asyncio.sleep(0.01)
        unsubscribe()
        server.push(frame(("Event", "Hangup"), ("Uniqueid", "1.1")))
        await asyncio.sleep(0.05)
    names = [m.name for m in seen]
    assert "Newchannel" in names
    assert "Hangup" not in names  # unsubscribed before it came
    assert client.state is ConnectionState.CLOSED


async def test_bad_credentials_stop_with_auth_error_and_no_retry(server: FakeAmiServer) -> None:
    client = AmiClient(AmiConfig(host="127.0.0.1", port=server.port, username="user", secret="x"))
    with pytest.raises(AmiAuthError, match="CALLCENTER_AMI_SECRET"):
        await asyncio.wait_for(client.run(), 5)
    assert client.state is ConnectionState.AUTH_FAILED
    logins = [m for m in server.received if m.get("Action") == "Login"]
    assert len(logins) == 1


async def test_a_peer_that_is_not_ami_is_fatal() -> None:
    done = asyncio.Event()

    async def not_ami(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await writer.drain()
        await reader.read()  # until the client gives up and closes
        writer.close()
        await writer.wait_closed()
        done.set()

    srv = await asyncio.start_server(not_ami, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        with pytest.raises(AmiFatalError, match="did not greet"):
            await asyncio.wait_for(AmiClient(_config(port)).run(), 5)
        await asyncio.wait_for(done.wait(), 5)
    finally:
        srv.close()
        await srv.wait_closed()


async def test_reconnects_after_drop_and_runs_resync_hook_each_time(
    server: FakeAmiServer,
) -> None:
    client = AmiClient(_config(server.port))
    resyncs = 0

    async def resync(c: AmiClient) -> None:
        nonlocal resyncs
        resyncs += 1

    client.on_connected(resync)
    async with running(client):
        await client.wait_connected(5)
        server.drop_all()
        for _ in range(200):
            if server.logins >= 2 and client.connected and resyncs >= 2:
                break
            await asyncio.sleep(0.01)
    assert server.logins == 2
    assert resyncs == 2
    assert client.reconnects == 1


async def test_pending_action_fails_on_disconnect_and_is_never_resent(
    server: FakeAmiServer,
) -> None:
    server.handlers["Originate"] = lambda message: None  # Asterisk never answers
    client = AmiClient(_config(server.port, action_timeout=5.0))
    async with running(client):
        await client.wait_connected(5)
        pending = asyncio.create_task(client.action("Originate", {"Channel": "PJSIP/2001"}))
        for _ in range(100):
            if any(m.get("Action") == "Originate" for m in server.received):
                break
            await asyncio.sleep(0.01)
        server.drop_all()
        with pytest.raises(AmiConnectionLost):
            await asyncio.wait_for(pending, 3)
        for _ in range(200):
            if server.logins >= 2 and client.connected:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
    originates = [m for m in server.received if m.get("Action") == "Originate"]
    assert len(originates) == 1


async def test_action_while_disconnected_is_refused_not_queued() -> None:
    client = AmiClient(_config(1))
    with pytest.raises(AmiNotConnected, match="not sent"):
        await client.action("Ping")


async def test_error_response_raises_with_asterisk_message(server: FakeAmiServer) -> None:
    client = AmiClient(_config(server.port))
    async with running(client):
        await client.wait_connected(5)
        with pytest.raises(AmiActionFailed, match="Invalid/unknown command"):
            await client.action("NoSuchAction")
        assert client.connected


async def test_list_action_collects_events_until_complete(server: FakeAmiServer) -> None:
    def core_show_channels(message: Message) -> list[bytes]:
        aid = message.get("ActionID") or ""
        return [
            frame(("Response", "Success"), ("ActionID", aid), ("EventList", "start")),
            frame(("Event", "CoreShowChannel"), ("ActionID", aid), ("Uniqueid", "1.1")),
            frame(("Event", "CoreShowChannel"), ("ActionID", aid), ("Uniqueid", "1.2")),
            frame(
                ("Event", "CoreShowChannelsComplete"),
                ("ActionID", aid),
                ("EventList", "Complete"),
                ("ListItems", "2"),
            ),
        ]

    server.handlers["CoreShowChannels"] = core_show_channels
    client = AmiClient(_config(server.port))
    live_events: list[Message] = []
    client.subscribe(live_events.append)
    async with running(client):
        await client.wait_connected(5)
        result = await client.list_action("CoreShowChannels")
    assert [e.get("Uniqueid") for e in result.events] == ["1.1", "1.2"]
    assert result.response.get("EventList") == "start"
    # List items answer an action; they are not live events.
    assert not any(e.name == "CoreShowChannel" for e in live_events)


async def test_missed_pong_deadline_reconnects(server: FakeAmiServer) -> None:
    client = AmiClient(_config(server.port, ping_interval=0.05, ping_timeout=0.1))
    async with running(client):
        await client.wait_connected(5)
        server.answer_pings = False
        for _ in range(300):
            if server.logins >= 2:
                break
            await asyncio.sleep(0.01)
        server.answer_pings = True
    assert server.logins >= 2


async def test_failing_handler_is_isolated_and_logged_once(
    server: FakeAmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = AmiClient(_config(server.port))
    good: list[Message] = []

    def broken(message: Message) -> None:
        raise KeyError("boom")

    client.subscribe(broken)
    client.subscribe(good.append)
    with caplog.at_level(logging.ERROR, logger="callcenter.ami.client"):
        async with running(client):
            await client.wait_connected(5)
            for i in range(3):
                server.push(frame(("Event", "Newchannel"), ("Uniqueid", f"1.{i}")))
            for _ in range(100):
                if len([m for m in good if m.name == "Newchannel"]) == 3:
                    break
                await asyncio.sleep(0.01)
            assert client.connected
    assert len([m for m in good if m.name == "Newchannel"]) == 3
    failures = [r for r in caplog.records if "failed on Newchannel" in r.getMessage()]
    assert len(failures) == 1


async def test_dropped_mid_frame_logs_the_partial_frame_and_reconnects(
    server: FakeAmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = AmiClient(_config(server.port))
    with caplog.at_level(logging.WARNING):
        async with running(client):
            await client.wait_connected(5)
            server.push(b"Event: Hangup\r\nUniqueid: 1.")
            await asyncio.sleep(0.05)
            server.drop_all()
            for _ in range(200):
                if server.logins >= 2 and client.connected:
                    break
                await asyncio.sleep(0.01)
    text = caplog.text
    assert "stream ended inside a frame" in text
    assert server.logins == 2


async def test_outage_is_logged_once_not_per_retry(
    server: FakeAmiServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = AmiClient(_config(server.port))
    with caplog.at_level(logging.INFO, logger="callcenter.ami.client"):
        async with running(client):
            await client.wait_connected(5)
            port = server.port
            await server.stop_listening()
            server.drop_all()
            await asyncio.sleep(0.5)  # many retries at 20-100 ms backoff
            await server.start(port)
            for _ in range(300):
                if client.connected and server.logins >= 2:
                    break
                await asyncio.sleep(0.01)
    lost = [r for r in caplog.records if "connection lost" in r.getMessage()]
    connected = [r for r in caplog.records if "AMI connected" in r.getMessage()]
    assert len(lost) == 1
    assert len(connected) == 2


def test_backoff_is_capped_and_jittered() -> None:
    assert backoff_delay(0, 0.5, 30, 0.0) == 0.25
    assert backoff_delay(0, 0.5, 30, 0.999) == pytest.approx(0.5, rel=0.01)
    assert backoff_delay(3, 0.5, 30, 1.0) == 4.0
    assert backoff_delay(50, 0.5, 30, 1.0) == 30.0


async def test_event_carrying_an_action_id_still_reaches_subscribers(
    server: FakeAmiServer,
) -> None:
    # Asterisk 22 copies every header of Action: UserEvent, ActionID included, into
    # the event, and sends it in the same write as the response.
    def user_event(message: Message) -> list[bytes]:
        aid = message.get("ActionID") or ""
        return [
            frame(("Response", "Success"), ("ActionID", aid), ("Message", "Event Sent"))
            + frame(("Event", "UserEvent"), ("UserEvent", "Demo"), ("ActionID", aid))
        ]

    def user_event_first(message: Message) -> list[bytes]:
        aid = message.get("ActionID") or ""
        return [
            frame(("Event", "UserEvent"), ("UserEvent", "Early"), ("ActionID", aid))
            + frame(("Response", "Success"), ("ActionID", aid), ("Message", "Event Sent"))
        ]

    client = AmiClient(_config(server.port))
    seen: list[str | None] = []
    client.subscribe(lambda m: seen.append(m.get("UserEvent")) if m.name == "UserEvent" else None)
    async with running(client):
        await client.wait_connected(5)
        server.handlers["UserEvent"] = user_event
        response = await client.action("UserEvent", {"UserEvent": "Demo"})
        server.handlers["UserEvent"] = user_event_first
        early = await client.action("UserEvent", {"UserEvent": "Early"})
        for _ in range(100):
            if len(seen) >= 2:
                break
            await asyncio.sleep(0.01)
    assert response.get("Message") == "Event Sent"
    assert early.get("Response") == "Success"  # the event did not answer the action
    assert seen == ["Demo", "Early"]
