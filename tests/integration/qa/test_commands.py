"""`callcenter qa ...` and `callcenter recordings catalogue|purge`, as an admin runs them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from callcenter.calls.store import CallRepository
from callcenter.kernel.db import create_engine, create_session_factory
from callcenter.recordings.retention import DAY
from tests.support.audio import write_wav
from tests.support.cli import cli_env, run_cli
from tests.support.qa_calls import NOV, call


async def test_draw_verify_assign_catalogue_and_purge_from_the_command_line(
    db_url: str, tmp_path: Path
) -> None:
    env = cli_env(
        tmp_path,
        db_url,
        CALLCENTER_QA_INSPECTORS="qa1,qa2",
        CALLCENTER_RECORDING_RETENTION_DAYS="1",
    )
    run = lambda *args: asyncio.to_thread(run_cli, *args, env=env)  # noqa: E731
    assert (await run("migrate")).returncode == 0
    root = tmp_path / "state" / "asterisk-instance" / "recordings"
    records = [call(f"n{n}", "1001", NOV + n * 7 * DAY) for n in range(3)]
    october = call("o1", "1002", NOV - 10 * DAY)
    for record in (*records, october):
        write_wav(root / record.recordings[0].path, 1.0)
    engine = create_engine(db_url)
    try:
        await CallRepository(create_session_factory(engine)).upsert_calls([*records, october])
    finally:
        await engine.dispose()

    catalogued = await run("recordings", "catalogue", "--older-than", "0")
    assert catalogued.returncode == 0, catalogued.stderr
    assert catalogued.stdout.strip() == "4 recording files catalogued"

    drawn = await run("qa", "draw", "--month", "2026-11", "--json")
    assert drawn.returncode == 0, drawn.stderr
    result = json.loads(drawn.stdout)
    assert sorted(s["linkedid"] for s in result["samples"]) == ["n0", "n1", "n2"]
    assert sorted(s["inspector"] for s in result["samples"]) == ["qa1", "qa1", "qa2"]
    draw_id = result["draw"]["id"]

    verified = await run("qa", "verify-draw", str(draw_id))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"draw {draw_id}: reproduced" in verified.stdout
    missing = await run("qa", "verify-draw", "999")
    assert missing.returncode == 1 and "draw-not-found" in missing.stderr

    sample = result["samples"][0]
    other = "qa2" if sample["inspector"] == "qa1" else "qa1"
    assigned = await run("qa", "assign", str(sample["id"]), other)
    assert assigned.returncode == 0, assigned.stderr
    assert [a["calibration"] for a in json.loads(assigned.stdout)] == [False, True]
    unknown = await run("qa", "assign", str(sample["id"]), "mallory")
    assert unknown.returncode == 1 and "inspector-unknown" in unknown.stderr
    bad_month = await run("qa", "draw", "--month", "2026-13")
    assert bad_month.returncode == 1 and "month-invalid" in bad_month.stderr

    dry = await run("recordings", "purge", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["deleted"] == [october.recordings[0].path]  # sampled calls are held
    assert len(plan["held"]) == 3
    assert (root / october.recordings[0].path).exists()
    purged = await run("recordings", "purge")
    assert purged.returncode == 0 and "deleted 1 recordings" in purged.stdout
    assert not (root / october.recordings[0].path).exists()
    assert all((root / r.recordings[0].path).exists() for r in records)
    checked = await run("recordings", "check", "--json")
    assert json.loads(checked.stdout)["segments_without_file"] == []
