"""The callback queue in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.callbacks.numbers import CallbackError, DoNotCallList
from callcenter.callbacks.outcomes import Outcome
from callcenter.callbacks.requests import Purpose, SchedulerSettings, Status
from callcenter.callbacks.store import CallbackRepository
from callcenter.kernel.db import create_engine, create_session_factory
from callcenter.kernel.supervisor import TaskSupervisor

SHANGHAI = ZoneInfo("Asia/Shanghai")
SETTINGS = SchedulerSettings(do_not_call=DoNotCallList(("13900000000",)))


def at(hour: int, minute: int = 0, day: int = 24) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).timestamp()


@pytest.fixture
def callbacks(sessions: async_sessionmaker[AsyncSession]) -> CallbackRepository:
    return CallbackRepository(sessions)


async def test_a_duplicate_request_merges_and_keeps_the_first_turn(
    callbacks: CallbackRepository,
) -> None:
    first, merged = await callbacks.request("138-0013-8000", Purpose.PRESS_1, at(10), SETTINGS)
    assert not merged
    second, merged = await callbacks.request("13800138000", Purpose.PRESS_1, at(11), SETTINGS)
    assert merged and second.id == first.id
    assert second.requested_at == at(10)
    other, merged = await callbacks.request("13800138000", Purpose.FOLLOW_UP, at(11), SETTINGS)
    assert not merged and other.id != first.id
    assert len(await callbacks.list_callbacks()) == 2


async def test_requests_in_quiet_hours_are_due_when_they_end(
    callbacks: CallbackRepository,
) -> None:
    late, _ = await callbacks.request("13800138001", Purpose.AFTER_HOURS, at(22, 30), SETTINGS)
    assert late.due_at == at(9, day=25)
    assert await callbacks.claim(at(23), SETTINGS, "a") == []
    (claimed,) = await callbacks.claim(at(9, 1, day=25), SETTINGS, "a")
    assert claimed.id == late.id and claimed.status is Status.DIALLING


async def test_bad_numbers_and_the_do_not_call_list_are_refused(
    callbacks: CallbackRepository,
) -> None:
    with pytest.raises(CallbackError) as bad:
        await callbacks.request("call me", Purpose.PRESS_1, at(10), SETTINGS)
    assert bad.value.error_id == "invalid-number"
    with pytest.raises(CallbackError) as dnc:
        await callbacks.request("139 0000 0000", Purpose.PRESS_1, at(10), SETTINGS)
    assert dnc.value.error_id == "do-not-call"
    assert await callbacks.list_callbacks() == []


async def test_complaint_deadlines_are_claimed_first_and_a_miss_is_retried(
    callbacks: CallbackRepository,
) -> None:
    await callbacks.request("13800138002", Purpose.PRESS_1, at(9, 30), SETTINGS)
    complaint, _ = await callbacks.request("13800138003", Purpose.COMPLAINT_REPLY, at(10), SETTINGS)
    (first,) = await callbacks.claim(at(10, 5), SETTINGS, "a")
    assert first.id == complaint.id
    assert await callbacks.counts(at(10, 5)) == (2, 0)
    assert await callbacks.counts(at(10) + 49 * 3600) == (2, 1)  # the complaint is overdue
    retried = await callbacks.record_attempt(
        complaint.id or 0, Outcome.NO_ANSWER, at(10, 6), SETTINGS
    )
    assert retried.status is Status.PENDING and retried.attempts == 1
    assert retried.due_at == at(10, 36)  # 30 minutes later
    assert await callbacks.attempts(complaint.id or 0) == [(at(10, 6), Outcome.NO_ANSWER)]


async def test_cancel_and_reschedule_only_pending_callbacks(
    callbacks: CallbackRepository,
) -> None:
    cb, _ = await callbacks.request("13800138004", Purpose.ABANDONED, at(10), SETTINGS)
    moved = await callbacks.reschedule(cb.id or 0, at(12, 30), SETTINGS)
    assert moved.due_at == at(14)  # out of the lunch window
    cancelled = await callbacks.cancel(cb.id or 0)
    assert cancelled.status is Status.CANCELLED
    with pytest.raises(CallbackError) as again:
        await callbacks.cancel(cb.id or 0)
    assert again.value.error_id == "callback-not-pending"
    # A cancelled callback no longer blocks a new one for the same number and purpose.
    fresh, merged = await callbacks.request("13800138004", Purpose.ABANDONED, at(15), SETTINGS)
    assert not merged and fresh.id != cb.id


@pytest.mark.postgres
async def test_two_instances_never_claim_the_same_callback(
    postgres_database_url: str,
) -> None:
    from sqlalchemy.engine import make_url

    from callcenter.kernel.migrate import upgrade_to_head
    from tests.support.db_fixtures import _pg_execute

    url = make_url(postgres_database_url)
    await _pg_execute(url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
    await upgrade_to_head(postgres_database_url)
    engines = [create_engine(postgres_database_url) for _ in range(2)]
    try:
        a, b = (CallbackRepository(create_session_factory(e)) for e in engines)
        for n in range(40):
            await a.request(f"1380013{n:04d}", Purpose.PRESS_1, at(10), SETTINGS)

        async def drain(repo: CallbackRepository, name: str) -> list[int]:
            got: list[int] = []
            while claimed := await repo.claim(at(11), SETTINGS, name, limit=2):
                got += [c.id or 0 for c in claimed]
                await asyncio.sleep(0)
            return got

        first, second = await asyncio.gather(drain(a, "a"), drain(b, "b"))
        assert sorted(first + second) == sorted({*first, *second})  # no id twice
        assert len(first) + len(second) == 40

        # And the mechanism itself: rows another instance holds are skipped, not waited for.
        for n in range(3):
            await a.request(f"1390013{n:04d}", Purpose.ABANDONED, at(10), SETTINGS)
        async with create_session_factory(engines[0])() as holder, holder.begin():
            await holder.execute(
                sa.text("SELECT id FROM callbacks WHERE status = 'pending' FOR UPDATE")
            )
            assert await asyncio.wait_for(b.claim(at(11), SETTINGS, "b", limit=3), 5) == []
        assert len(await b.claim(at(11), SETTINGS, "b", limit=3)) == 3
    finally:
        for engine in engines:
            await engine.dispose()


async def test_complaints_get_their_reply_follow_up_and_progress_callbacks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from callcenter.agents.store import AgentRepository
    from callcenter.callbacks.sources import CallbackSources

    factory = sessions  # the migrated database (tests/support/db_fixtures.py)
    cases, callbacks = AgentRepository(factory), CallbackRepository(factory)
    clock = [at(10)]
    sources = CallbackSources(callbacks, cases, SETTINGS, clock=lambda: clock[0])
    open_case = await cases.open_case(
        "complaint", "13800138010", "1001", "late", at(10), at(10) + 48 * 3600
    )
    await sources.on_case(open_case)
    assert await sources.progress_tick() == 0  # 48 h to go: no progress call yet
    clock[0] = at(10) + 43 * 3600  # 5 h before the reply deadline, still open
    assert await sources.progress_tick() == 1
    assert await sources.progress_tick() == 1  # merged: still one progress callback
    resolved = dataclasses.replace(open_case, id=open_case.id, status="resolved")
    await sources.on_case(resolved)
    await sources.on_request("not a number", "press-1", None)  # skipped, logged
    found = {(c.purpose.value, c.case_id) for c in await callbacks.list_callbacks()}
    assert found == {
        ("complaint-reply", open_case.id),
        ("complaint-progress", open_case.id),
        ("follow-up", open_case.id),
    }
    assert sources.skipped == 1


async def test_after_a_restart_interrupted_dials_are_neither_lost_nor_dialled_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from callcenter.callbacks.dialer import Dialer
    from callcenter.calls.record import Outcome as CallOutcome
    from callcenter.calls.store import CallRepository
    from tests.support.records import make_record

    factory = sessions  # the migrated database (tests/support/db_fixtures.py)
    callbacks = CallbackRepository(factory)
    dialled, _ = await callbacks.request("13800138020", Purpose.PRESS_1, at(10), SETTINGS)
    never, _ = await callbacks.request("13800138021", Purpose.PRESS_1, at(10), SETTINGS)
    assert len(await callbacks.claim(at(10, 1), SETTINGS, "backend-1", limit=2)) == 2
    # The backend died after the first dial reached the customer (the call log has it).
    await CallRepository(factory).upsert_calls(
        [
            make_record(
                "1800000000.1",
                outcome=CallOutcome.ANSWERED,
                notes=(f"callback {dialled.id}",),
            )
        ]
    )
    dialer = Dialer(
        callbacks,
        None,  # type: ignore[arg-type]  # recover() needs neither agents nor AMI
        None,  # type: ignore[arg-type]
        SETTINGS,
        waiting=dict,
        skill="outbound",
        instance="backend-1",
        agent_ring_seconds=10,
        caller_id="4008000000",
        supervisor=TaskSupervisor(),
        clock=lambda: at(10, 5),
    )
    assert await dialer.recover() == 2
    states = {c.id: (c.status, c.attempts) for c in await callbacks.list_callbacks()}
    assert states[dialled.id] == (Status.DONE, 1)  # recorded, not dialled again
    assert states[never.id] == (Status.PENDING, 0)  # back in the queue, turn kept
    assert await callbacks.claimed_by("backend-1") == []


async def test_an_abandoned_call_rebuilt_again_after_a_restart_is_not_called_back_twice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    import dataclasses as dc

    from callcenter.agents.store import AgentRepository
    from callcenter.callbacks.sources import CallbackSources
    from callcenter.calls.record import RECONSTRUCTED
    from callcenter.calls.record import Outcome as CallOutcome
    from tests.support.records import make_record

    factory = sessions  # the migrated database (tests/support/db_fixtures.py)
    callbacks = CallbackRepository(factory)
    sources = CallbackSources(callbacks, AgentRepository(factory), SETTINGS, lambda: at(10))
    abandoned = make_record(
        "1800000001.1", outcome=CallOutcome.ABANDONED, caller_number="13800138030"
    )
    sources.submit(abandoned)
    await sources.drain()
    (first,) = await callbacks.list_callbacks()
    await callbacks.claim(at(10, 1), SETTINGS, "a")
    await callbacks.record_attempt(first.id or 0, Outcome.ANSWERED, at(10, 2), SETTINGS)
    # The next start rebuilds the same call from the trail: no second callback.
    sources.submit(dc.replace(abandoned, notes=(RECONSTRUCTED,)))
    await sources.drain()
    assert [(c.id, c.status) for c in await callbacks.list_callbacks()] == [(first.id, Status.DONE)]
    # A call missed while the backend was down (never seen before) is called back.
    missed = make_record(
        "1800000002.1",
        outcome=CallOutcome.ABANDONED,
        caller_number="13800138031",
        notes=(RECONSTRUCTED,),
    )
    sources.submit(missed)
    await sources.drain()
    assert len(await callbacks.list_callbacks()) == 2
