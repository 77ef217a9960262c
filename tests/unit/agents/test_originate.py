"""OriginateResponse handling for offers that ring the agent's own phone first."""

from __future__ import annotations

import pytest

from callcenter.agents.originate import OriginateResponses, originate_failure
from callcenter.ami.message import Message


def _response(action_id: str, response: str, reason: str | None = None) -> Message:
    headers = {"Event": "OriginateResponse", "ActionID": action_id, "Response": response}
    if reason is not None:
        headers["Reason"] = reason
    return Message(headers)


@pytest.mark.parametrize(
    ("response", "reason", "why"),
    [
        ("Success", "4", None),
        ("Failure", "0", "phone-unavailable"),  # seen for an unregistered phone on 22.10.1
        ("Failure", "3", "no-answer"),  # seen at the Originate timeout on 22.10.1
        ("Failure", "5", "phone-busy"),
        ("Failure", "1", "phone-rejected"),
        ("Failure", "8", "phone-congested"),
        ("Failure", None, "originate-failed"),
        ("Failure", "77", "originate-failed"),
    ],
)
def test_the_reason_of_an_originate_response(
    response: str, reason: str | None, why: str | None
) -> None:
    assert originate_failure(_response("a", response, reason)) == why


def test_an_answer_that_comes_before_it_is_expected_is_handed_over_then() -> None:
    responses = OriginateResponses()
    got: list[str | None] = []
    responses.on_event(_response("ours-1", "Failure", "0"))
    responses.expect("ours-1", got.append)
    assert got == ["phone-unavailable"]
    responses.on_event(_response("ours-1", "Failure", "0"))  # never twice
    assert got == ["phone-unavailable"]


def test_an_expected_answer_is_handed_over_once_and_others_are_ignored() -> None:
    responses = OriginateResponses()
    got: list[str | None] = []
    responses.expect("ours-2", got.append)
    responses.on_event(Message({"Event": "Hangup", "ActionID": "ours-2"}))
    responses.on_event(_response("someone-else", "Failure", "3"))
    assert (got, responses.pending) == ([], 1)
    responses.on_event(_response("ours-2", "Success"))
    responses.on_event(_response("ours-2", "Failure", "0"))
    assert (got, responses.pending) == ([None], 0)


def test_early_answers_kept_are_bounded() -> None:
    responses = OriginateResponses(keep=3)
    for n in range(10):
        responses.on_event(_response(f"x-{n}", "Failure", "0"))
    got: list[str | None] = []
    responses.expect("x-0", got.append)  # long gone: waits for an answer instead
    responses.expect("x-9", got.append)
    assert got == ["phone-unavailable"]
    assert responses.pending == 1
