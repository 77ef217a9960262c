"""Recordings and call records must point at each other."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from callcenter.calls.record import CallRecord, Outcome
from callcenter.calls.recording_check import check_recordings, compare_recordings
from callcenter.calls.store import CallRepository
from tests.support.ami_events import CALLER, agent_answers, arrival, hangups, run


def _answered_record() -> CallRecord:
    (record,) = run([*arrival(), *agent_answers(3.0), *hangups(10.0, CALLER, "caller")])
    return record


def test_compare_finds_each_kind_of_break() -> None:
    record = _answered_record()
    on_disk = [s.path for s in record.recordings] + ["2023/11/14/9.9/9.9-caller.wav"]
    report = compare_recordings(on_disk, record.recordings, [record.linkedid], [])
    assert report.files_without_call == ["2023/11/14/9.9/9.9-caller.wav"]
    assert not report.ok
    missing_agent = [s.path for s in record.recordings if s.leg == "caller"]
    report = compare_recordings(missing_agent, record.recordings, [record.linkedid], [record])
    assert report.segments_without_file == [s.path for s in record.recordings if s.leg == "agent"]
    assert report.answered_without_recording == [record.linkedid]
    clean = compare_recordings(
        [s.path for s in record.recordings], record.recordings, [record.linkedid], []
    )
    assert clean.ok and clean.files_seen == 2


async def test_check_against_the_database_and_the_recordings_dir(
    repository: CallRepository, tmp_path: Path
) -> None:
    record = _answered_record()
    unrecorded = dataclasses.replace(record, linkedid="1700000001.1", recordings=())
    await repository.upsert_calls([record, unrecorded])
    root = tmp_path / "recordings"
    for segment in record.recordings:
        (root / segment.path).parent.mkdir(parents=True, exist_ok=True)
        (root / segment.path).write_bytes(b"RIFF" + b"\0" * 100)
    stray = root / "2023/11/14/1699999999.5/1699999999.5-caller.wav"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"RIFF")

    report = await check_recordings(repository.session_factory, root)
    assert unrecorded.outcome is Outcome.ANSWERED
    assert report.files_without_call == ["2023/11/14/1699999999.5/1699999999.5-caller.wav"]
    assert report.answered_without_recording == ["1700000001.1"]
    assert report.segments_without_file == []
    assert report.files_seen == 3

    # A file the retention deleted is not missing: the recordings feature says which.
    gone = record.recordings[0].path
    (root / gone).unlink()
    report = await check_recordings(repository.session_factory, root)
    assert report.segments_without_file == [gone]

    async def purged() -> set[str]:
        return {gone}

    report = await check_recordings(repository.session_factory, root, purged)
    assert report.segments_without_file == []
