"""A call rebuilt from Asterisk's trail never overwrites the call as seen live."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from callcenter.calls.record import RECONSTRUCTED, CallRecord, Party
from callcenter.calls.store import CallRepository
from callcenter.calls.writer import CallWriter
from callcenter.config import DatabaseConfig
from tests.support.ami_events import CALLER, agent_answers, arrival, hangups, run


def _pair() -> tuple[CallRecord, CallRecord]:
    (live,) = run([*arrival(), *agent_answers(3.0), *hangups(10.0, CALLER, "agent")])
    rebuilt = dataclasses.replace(
        live,
        hangup_first=Party.CALLER,
        notes=(*live.notes, RECONSTRUCTED),
        recordings=tuple(
            dataclasses.replace(r, started_at=(r.started_at or 0) + 0.001) for r in live.recordings
        ),
    )
    return live, rebuilt


async def test_rebuilt_fills_a_gap_but_never_replaces_live(repository: CallRepository) -> None:
    live, rebuilt = _pair()
    await repository.upsert_calls([live])
    await repository.upsert_calls([rebuilt])
    stored = await repository.get(live.linkedid)
    assert stored == live  # segments included: their start times stay the live ones

    other = dataclasses.replace(rebuilt, linkedid="1700000099.1", recordings=())
    await repository.upsert_calls([other])
    gap = await repository.get("1700000099.1")
    assert gap is not None and gap.reconstructed


async def test_live_version_replaces_a_rebuilt_one(repository: CallRepository) -> None:
    live, rebuilt = _pair()
    await repository.upsert_calls([rebuilt])
    await repository.upsert_calls([live])
    stored = await repository.get(live.linkedid)
    assert stored is not None and not stored.reconstructed
    assert await repository.count() == 1


async def test_writer_keeps_the_pending_live_version(
    repository: CallRepository, migrated_db_url: str, tmp_path: Path
) -> None:
    live, rebuilt = _pair()
    writer = CallWriter(
        repository, DatabaseConfig(url=migrated_db_url, spool_path=tmp_path / "spool.jsonl")
    )
    await writer.start()
    try:
        writer.submit(live)
        writer.submit(rebuilt)  # arrives while the live one still waits for its batch
        await writer.flush()
    finally:
        await writer.close()
    stored = await repository.get(live.linkedid)
    assert stored is not None and not stored.reconstructed
