"""Screen pops: the pure pop, and which AMI events ring an agent's panel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any
from unittest.mock import create_autospec

from callcenter.ami.message import Message
from callcenter.panel.pop import (
    Contact,
    HistoryItem,
    OpenCase,
    build_pop,
    clean_caller_id_name,
)
from callcenter.panel.service import PanelService, endpoint_of
from callcenter.panel.store import PanelRepository

AGENTS = {"1001": "1001", "ep-7": "1007"}  # endpoint -> staff number


def _history(linkedid: str, at: float, notes: str = "") -> HistoryItem:
    return HistoryItem(linkedid, at, "inbound", "answered", "1001", "查詢", None, notes, True)


def test_the_pop_lists_earlier_calls_most_recent_first_without_the_ringing_one() -> None:
    pop = build_pop(
        linkedid="now",
        staff_no="1001",
        number="2001",
        caller_id_name="<unknown>",
        queue="support",
        at=1000.0,
        contact=Contact("2001", "王先生", "VIP since 2020", True, "agent"),
        history=[_history("old", 10.0), _history("now", 999.0), _history("newer", 500.0)],
        cases=[
            OpenCase(2, "complaint", "1002", "open", 400.0, None, "no due date"),
            OpenCase(1, "complaint", "1002", "open", 300.0, 900.0, "parcel late"),
            OpenCase(3, "complaint", "1001", "open", 500.0, 2000.0, "refund"),
        ],
        max_history=5,
    )
    assert [h.linkedid for h in pop.history] == ["newer", "old"]
    assert [c.id for c in pop.cases] == [1, 3, 2]  # most urgent deadline first
    assert pop.repeat and pop.name == "王先生" and pop.caller_id_name is None
    assert pop.greeting == "王先生,您好!歡迎再次來電。"
    data = pop.to_json(now=1000.0)
    assert [c["overdue"] for c in data["cases"]] == [True, False, False]
    assert data["contact"]["member"] is True
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


def test_a_first_caller_is_greeted_only_when_a_name_is_known() -> None:
    def pop(name: str | None, contact: Contact | None) -> Any:
        return build_pop(
            linkedid="x",
            staff_no="1001",
            number="2001",
            caller_id_name=name,
            queue=None,
            at=0.0,
            contact=contact,
            history=[],
            cases=[],
        )

    assert pop(None, None).greeting is None
    assert pop("Alice", None).greeting == "Alice,您好!"
    assert not pop("Alice", None).repeat
    # An agent's correction wins over the caller ID.
    assert pop("ALICE CORP", Contact("2001", "Alice Chen")).name == "Alice Chen"
    assert [clean_caller_id_name(n) for n in ('"Bob"', "2001", "Anonymous", " ", None)] == [
        "Bob",
        None,
        None,
        None,
        None,
    ]


def test_history_is_cut_to_the_limit() -> None:
    pop = build_pop(
        linkedid="x",
        staff_no="1",
        number="2",
        caller_id_name=None,
        queue=None,
        at=0.0,
        contact=None,
        history=[_history(f"c{i}", float(i)) for i in range(30)],
        cases=[],
        max_history=3,
    )
    assert [h.linkedid for h in pop.history] == ["c29", "c28", "c27"]


class _Spawned:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        self.names.append(name)
        coro.close()  # the lookup itself is the integration tests' business
        return create_autospec(asyncio.Task, instance=True)  # type: ignore[no-any-return]


def _service() -> tuple[PanelService, _Spawned]:
    spawned = _Spawned()
    repo = create_autospec(PanelRepository, instance=True)
    service = PanelService(repo, lambda message, topic: 0, AGENTS.get, spawned)
    return service, spawned


def _dial_begin(source: str, dest: str, linkedid: str = "1700.1") -> Message:
    return Message(
        {
            "Event": "DialBegin",
            "Channel": source,
            "DestChannel": dest,
            "CallerIDNum": "2001",
            "CallerIDName": "<unknown>",
            "Linkedid": linkedid,
            "Uniqueid": linkedid,
        }
    )


def test_a_caller_ringing_an_agents_phone_pops_their_panel_and_nothing_else_does() -> None:
    service, spawned = _service()
    service.on_event(
        Message(
            {"Event": "UserEvent", "UserEvent": "Routing", "Linkedid": "1700.1", "Queue": "support"}
        )
    )
    service.on_event(_dial_begin("PJSIP/2001-00000001", "PJSIP/ep-7-00000002"))
    assert spawned.names == ["screen-pop-1700.1-1007"]
    # An agent calling another agent, a callback's customer leg, an Originate's own leg,
    # a Dial to a number that is no agent's: no pop.
    service.on_event(_dial_begin("PJSIP/1001-00000003", "PJSIP/ep-7-00000004", "2"))
    service.on_event(_dial_begin("PJSIP/1001-00000005", "PJSIP/2001-00000006", "3"))
    service.on_event(_dial_begin("", "PJSIP/1001-00000007", "4"))
    service.on_event(_dial_begin("PJSIP/2002-00000008", "PJSIP/3001-00000009", "5"))
    service.on_event(Message({"Event": "Newchannel", "Channel": "PJSIP/1001-0000000a"}))
    assert spawned.names == ["screen-pop-1700.1-1007"]


def test_endpoint_names_come_from_channel_names() -> None:
    assert endpoint_of("PJSIP/1001-0000000a") == "1001"
    assert endpoint_of("PJSIP/ep-7-0000000a") == "ep-7"
    assert endpoint_of("PJSIP/1001") == "1001"


async def test_a_pop_is_sent_at_once_then_complete_and_kept_for_a_reload() -> None:
    sent: list[tuple[dict[str, Any], str]] = []
    repo = create_autospec(PanelRepository, instance=True)
    repo.note_caller_id.return_value = Contact("2001", "王先生", name_source="agent")
    repo.history.return_value = [_history("old", 10.0, "wants a refund")]
    repo.open_cases.return_value = []

    def publish(message: str, topic: str) -> int:
        sent.append((json.loads(message), topic))
        return 1

    service = PanelService(repo, publish, AGENTS.get, _Spawned(), clock=lambda: 100.0)
    pop = await service.pop("1700.1", "1001", "2001", None, "support")
    assert [(m.get("loading", False), t) for m, t in sent] == [
        (True, "agent:1001"),
        (False, "agent:1001"),
    ]
    assert sent[0][0]["pop"]["history"] == []
    assert sent[1][0]["pop"]["greeting"] == "王先生,您好!歡迎再次來電。"
    assert sent[1][0]["pop"]["history"][0]["notes"] == "wants a refund"
    repo.note_caller_id.assert_awaited_once_with("2001", None, 100.0)
    assert service.recent("1700.1", "1001") == pop
    assert service.recent("1700.1") == pop
    assert service.recent("1700.1", "1002") is None


async def test_a_database_failure_leaves_the_first_pop_marked() -> None:
    sent: list[dict[str, Any]] = []
    repo = create_autospec(PanelRepository, instance=True)
    repo.note_caller_id.side_effect = OSError("database down")

    def publish(message: str, topic: str) -> int:
        sent.append(json.loads(message))
        return 1

    service = PanelService(repo, publish, AGENTS.get, _Spawned(), clock=lambda: 5.0)
    pop = await service.pop("9.9", "1001", "2001", "Bob", None)
    assert pop.name == "Bob" and pop.history == ()
    assert [m.get("error") for m in sent] == [None, "history-unavailable"]
    assert service.failures == 1 and service.pops == 0
