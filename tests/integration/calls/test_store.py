"""CallRepository against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import dataclasses

from callcenter.calls.record import CallRecord, Direction, Outcome
from callcenter.calls.store import CallRepository
from tests.support.records import T0, make_record


async def test_round_trip_returns_an_equal_record(repository: CallRepository) -> None:
    record = make_record()
    await repository.upsert_calls([record])

    assert await repository.get(record.linkedid) == record
    assert await repository.get("no-such-call") is None


async def test_round_trip_of_a_sparse_record(repository: CallRepository) -> None:
    record = CallRecord(
        linkedid="sparse.1",
        direction=Direction.OUTBOUND,
        caller_number=None,
        caller_name=None,
        dialled_number=None,
        queue=None,
        arrived_at=None,
        answered_at=None,
        ended_at=None,
        answer_seconds=None,
        rings_to_answer=None,
        answered_by=None,
        agent=None,
        agent_name=None,
        hold_seconds=None,
        talk_seconds=None,
        hangup_first=None,
        outcome=Outcome.INTERRUPTED,
    )
    await repository.upsert_calls([record])
    assert await repository.get("sparse.1") == record


async def test_recordings_come_back_in_start_order(repository: CallRepository) -> None:
    record = make_record()
    reversed_segments = dataclasses.replace(record, recordings=record.recordings[::-1])
    await repository.upsert_calls([reversed_segments])

    stored = await repository.get(record.linkedid)
    assert stored is not None
    assert [s.leg for s in stored.recordings] == ["caller", "agent"]


async def test_unicode_caller_name_round_trips(repository: CallRepository) -> None:
    record = make_record(caller_name="張三", agent_name="Zoë Ørsted", notes=("备注",))
    await repository.upsert_calls([record])

    stored = await repository.get(record.linkedid)
    assert stored is not None
    assert stored.caller_name == "張三"
    assert stored == record


async def test_writing_the_same_record_twice_keeps_one_row(repository: CallRepository) -> None:
    record = make_record()
    await repository.upsert_calls([record, record])
    await repository.upsert_calls([record])

    assert await repository.count() == 1
    assert await repository.get(record.linkedid) == record


async def test_later_version_replaces_the_earlier(repository: CallRepository) -> None:
    early = make_record(outcome=Outcome.ABANDONED, agent=None, recordings=1)
    late = make_record(talk_seconds=99.5, recordings=2, notes=())
    await repository.upsert_calls([early])
    await repository.upsert_calls([late])

    assert await repository.count() == 1
    assert await repository.get(late.linkedid) == late


async def test_latest_version_in_one_batch_wins(repository: CallRepository) -> None:
    first = make_record(talk_seconds=1.0)
    second = make_record(talk_seconds=2.0)
    await repository.upsert_calls([first, second])

    stored = await repository.get(first.linkedid)
    assert stored is not None
    assert stored.talk_seconds == 2.0


async def test_segments_merge_by_uniqueid(repository: CallRepository) -> None:
    """A segment missing from a later version is kept: recordings on disk do not vanish."""
    both = make_record(recordings=2)
    moved = dataclasses.replace(
        both.recordings[0], path="elsewhere/caller.wav", started_at=T0 + 1.0
    )
    await repository.upsert_calls([both])
    await repository.upsert_calls([dataclasses.replace(both, recordings=(moved,))])

    stored = await repository.get(both.linkedid)
    assert stored is not None
    assert stored.recordings == (moved, both.recordings[1])


async def test_count_and_list_calls(repository: CallRepository) -> None:
    records = [make_record(f"call.{i}", arrived_at=T0 + 60 * i) for i in range(5)]
    no_time = make_record("call.unknown-time", arrived_at=None)
    await repository.upsert_calls([no_time, *reversed(records)])

    assert await repository.count() == 6
    listed = await repository.list_calls(limit=3, offset=1)
    assert [r.linkedid for r in listed] == ["call.1", "call.2", "call.3"]
    assert listed[0] == records[1]
    since = await repository.list_calls(limit=100, since=T0 + 180)
    assert [r.linkedid for r in since] == ["call.3", "call.4"]
    everything = await repository.list_calls(limit=100)
    assert everything[-1].linkedid == "call.unknown-time"


async def test_segments_without_call(repository: CallRepository) -> None:
    with_call = make_record("with.call")
    orphan = make_record("orphan.call")
    await repository.upsert_calls([with_call])
    await repository.upsert_segments([*orphan.recordings, *with_call.recordings])

    assert await repository.segments_without_call() == list(orphan.recordings)
    assert await repository.linkedids() == ["with.call"]
    assert sorted(await repository.all_segments(), key=lambda s: s.uniqueid) == sorted(
        [*orphan.recordings, *with_call.recordings], key=lambda s: s.uniqueid
    )

    await repository.upsert_calls([orphan])
    assert await repository.segments_without_call() == []
    assert await repository.get("orphan.call") == orphan


async def test_answered_calls_without_recording(repository: CallRepository) -> None:
    recorded = make_record("recorded")
    unrecorded = make_record("unrecorded", recordings=0)
    abandoned = make_record("abandoned", outcome=Outcome.ABANDONED, recordings=0)
    ivr_only = make_record("ivr", outcome=Outcome.ANSWERED_BY_SYSTEM, recordings=0)
    await repository.upsert_calls([recorded, unrecorded, abandoned, ivr_only])

    assert await repository.answered_calls_without_recording() == [unrecorded]
