"""The callback sources against the real callback queue, on SQLite and PostgreSQL: every
caller who reached nobody gets one abandoned callback, and no call gets two."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agents.store import AgentRepository
from callcenter.callbacks.numbers import DoNotCallList
from callcenter.callbacks.requests import Purpose, SchedulerSettings
from callcenter.callbacks.sources import CallbackSources
from callcenter.callbacks.store import CallbackRepository
from callcenter.calls.record import CALLBACK_REQUESTED, RECONSTRUCTED, Outcome
from tests.support.records import make_record

SHANGHAI = ZoneInfo("Asia/Shanghai")
SETTINGS = SchedulerSettings(do_not_call=DoNotCallList(("13900000000",)))
NOON = datetime(2026, 11, 24, 12, tzinfo=SHANGHAI).timestamp()


@pytest.fixture
def callbacks(sessions: async_sessionmaker[AsyncSession]) -> CallbackRepository:
    return CallbackRepository(sessions)


@pytest.fixture
def sources(
    sessions: async_sessionmaker[AsyncSession], callbacks: CallbackRepository
) -> CallbackSources:
    return CallbackSources(callbacks, AgentRepository(sessions), SETTINGS, lambda: NOON)


async def test_callers_who_rang_out_were_held_or_cut_off_each_get_one(
    sources: CallbackSources, callbacks: CallbackRepository
) -> None:
    outcomes = [
        Outcome.ABANDONED,
        Outcome.ABANDONED_AFTER_SYSTEM,
        Outcome.UNANSWERED,
        Outcome.INTERRUPTED,
        Outcome.ANSWERED_BY_SYSTEM,
    ]
    for n, outcome in enumerate(outcomes):
        sources.submit(
            make_record(f"1800000100.{n}", outcome=outcome, caller_number=f"1380013810{n}")
        )
    sources.submit(make_record("1800000100.9", outcome=Outcome.ANSWERED))  # talked: none
    await sources.drain()
    found = {(c.number, c.purpose, c.linkedid) for c in await callbacks.list_callbacks()}
    assert found == {
        (f"1380013810{n}", Purpose.ABANDONED, f"1800000100.{n}") for n in range(len(outcomes))
    }
    assert (sources.requested, sources.skipped) == (len(outcomes), 0)


async def test_a_caller_who_pressed_1_keeps_only_the_press_1_callback(
    sources: CallbackSources, callbacks: CallbackRepository
) -> None:
    # The dialplan's request arrives during the call; the record after the hang-up.
    await sources.on_request("13800138200", "press-1", "1800000200.1")
    sources.submit(
        make_record(
            "1800000200.1",
            outcome=Outcome.ABANDONED_AFTER_SYSTEM,
            caller_number="13800138200",
            notes=(CALLBACK_REQUESTED,),
        )
    )
    # Same, with the CallbackRequested user event lost: the stored request says it.
    await sources.on_request("13800138201", "press-1", "1800000200.2")
    sources.submit(
        make_record(
            "1800000200.2", outcome=Outcome.ABANDONED_AFTER_SYSTEM, caller_number="13800138201"
        )
    )
    await sources.drain()
    found = sorted((c.number, c.purpose) for c in await callbacks.list_callbacks())
    assert found == [("13800138200", Purpose.PRESS_1), ("13800138201", Purpose.PRESS_1)]


async def test_one_open_callback_per_number_and_a_call_is_never_taken_for_another(
    sources: CallbackSources, callbacks: CallbackRepository
) -> None:
    await sources.on_request("13800138300", "press-1", "1800000300.12")
    # Two abandoned calls from that number: one abandoned callback (the press-1 one is
    # another purpose and stays apart).
    for linkedid in ("1800000300.1", "1800000300.2"):
        sources.submit(
            make_record(linkedid, outcome=Outcome.ABANDONED, caller_number="138 0013 8300")
        )
        await sources.drain()
    stored = await callbacks.list_callbacks()
    assert sorted((c.purpose, c.linkedid) for c in stored) == [
        (Purpose.ABANDONED, "1800000300.1"),  # the second call merged into it
        (Purpose.PRESS_1, "1800000300.12"),
    ]
    (abandoned,) = [c for c in stored if c.purpose is Purpose.ABANDONED]
    assert any("linkedid=1800000300.2" in note for note in abandoned.notes)
    # Call "...300.1" is not "...300.12": it got its callback above, and a rebuilt
    # copy of it adds nothing.
    sources.submit(
        make_record(
            "1800000300.1",
            outcome=Outcome.ABANDONED,
            caller_number="13800138300",
            notes=(RECONSTRUCTED,),
        )
    )
    await sources.drain()
    assert len(await callbacks.list_callbacks()) == 2


async def test_callers_that_cannot_be_dialled_are_skipped_logged_and_counted(
    sources: CallbackSources, callbacks: CallbackRepository, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "callcenter.callbacks.sources")
    for n, number in enumerate(("anonymous", "Withheld", "ACME Trunk", None, "13900000000")):
        sources.submit(
            make_record(
                f"1800000400.{n}", outcome=Outcome.ABANDONED_AFTER_SYSTEM, caller_number=number
            )
        )
    await sources.on_request("anonymous", "press-1", "1800000400.9")
    await sources.drain()
    assert await callbacks.list_callbacks() == []
    assert sources.skipped == 6
    assert dict(sources.skipped_by_reason) == {
        "invalid-number": 4,
        "no-caller-id": 1,
        "do-not-call": 1,
    }
    logged = caplog.text
    assert "1800000400.0 from 'anonymous': not a dialable number" in logged
    assert "no caller ID" in logged and "do-not-call list" in logged
