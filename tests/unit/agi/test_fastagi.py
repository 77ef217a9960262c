"""FastAGI requests carry the per-install key; without it no handler runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

from callcenter.agi.fastagi import AgiError, AgiRequest, FastAgiServer, key_matches, parse_env
from tests.support.fastagi import send_agi

KEY = "s3cret-Key_0123456789abcdef"


def test_the_query_is_split_off_the_script_name_as_asterisk_sends_it() -> None:
    request = parse_env([f"agi_network_script: route?key={KEY}", "agi_arg_1: 1700.1"])
    assert request.script == "route"
    assert request.query == {"key": KEY}
    assert request.args == ("1700.1",)


def test_query_values_are_kept_raw_not_percent_or_plus_decoded() -> None:
    request = parse_env(["agi_network_script: /survey?key=a+b%2Fc&x=1"])
    assert request.script == "survey"
    assert request.query == {"key": "a+b%2Fc", "x": "1"}
    assert not key_matches(request, "a b/c")
    assert key_matches(request, "a+b%2Fc")


def test_a_key_given_twice_is_refused_at_parse_time() -> None:
    with pytest.raises(AgiError, match="'key' given twice"):
        parse_env([f"agi_network_script: route?key=x&key={KEY}"])


@pytest.mark.parametrize(
    ("script", "matches"),
    [
        (f"route?key={KEY}", True),
        ("route", False),
        ("route?key=", False),
        (f"route?key={KEY}x", False),
        (f"route?key={KEY[:-1]}", False),
        (f"route?other={KEY}", False),
    ],
)
def test_only_the_exact_key_matches(script: str, matches: bool) -> None:
    assert key_matches(parse_env([f"agi_network_script: {script}"]), KEY) is matches


def test_an_empty_server_key_matches_nothing_and_a_server_needs_a_key() -> None:
    assert not key_matches(parse_env(["agi_network_script: route?key="]), "")
    with pytest.raises(ValueError, match="CALLCENTER_AGI_KEY"):
        FastAgiServer("127.0.0.1", 0, {}, key="")


class Recorder:
    def __init__(self) -> None:
        self.seen: list[AgiRequest] = []

    async def __call__(self, request: AgiRequest) -> Mapping[str, str]:
        self.seen.append(request)
        return {"CC_ACTION": "dial"}


@pytest.mark.parametrize("script", ["route", "route?key=wrong-key-0123456789", "route?key="])
async def test_a_request_without_the_right_key_runs_no_handler_and_is_logged(
    script: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recorder()
    server = FastAgiServer("127.0.0.1", 0, {"route": handler}, key=KEY)
    await server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="callcenter.agi.fastagi"):
            commands = await send_agi(server.port, script, ["1700.1", "2001"])
    finally:
        await server.close()
    assert commands == []  # closed without a word: the forger learns nothing
    assert handler.seen == []
    assert (server.refused, server.requests, server.failures) == (1, 0, 0)
    (record,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "from 127.0.0.1:" in record.getMessage()
    assert KEY not in record.getMessage()


async def test_the_right_key_reaches_the_handler_without_the_query_in_the_script() -> None:
    handler = Recorder()
    server = FastAgiServer("127.0.0.1", 0, {"route": handler}, key=KEY)
    await server.start()
    try:
        commands = await send_agi(server.port, f"route?key={KEY}", ["1700.1"])
    finally:
        await server.close()
    assert commands == ['SET VARIABLE CC_ACTION "dial"']
    assert [(r.script, r.args) for r in handler.seen] == [("route", ("1700.1",))]
    assert (server.refused, server.requests) == (0, 1)


async def test_an_unknown_script_is_checked_for_the_key_first() -> None:
    server = FastAgiServer("127.0.0.1", 0, {}, key=KEY)
    await server.start()
    try:
        forged = await send_agi(server.port, "nope")
        known = await send_agi(server.port, f"nope?key={KEY}")
    finally:
        await server.close()
    assert forged == []  # no "no such script" answer that would map the handlers
    assert len(known) == 1 and known[0].startswith("VERBOSE") and "nope" in known[0]
    assert (server.refused, server.failures) == (1, 1)
