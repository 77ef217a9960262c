"""`callcenter` console command: argv/env -> Config -> the chosen job."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from callcenter import config as config_module
from callcenter.calls.record import CallRecord
from callcenter.config import Config, ConfigError

log = logging.getLogger("callcenter")


def _setup_logging(config: Config, verbose: bool) -> None:
    from callcenter.ops.logging import config_secrets, setup_logging

    setup_logging(
        config.ops.log_format,
        logging.DEBUG if verbose else logging.INFO,
        secrets=config_secrets(config.ami.secret, config.database.url),
    )


# -- serve / migrate -------------------------------------------------------------------


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from aiohttp import web

    from callcenter.app import create_app
    from callcenter.kernel.migrate import upgrade_to_head

    if not args.no_migrate:
        asyncio.run(upgrade_to_head(config.database.url))
    log.info(
        "serving on http://%s:%s, AMI %s:%s, database %s",
        config.web.host,
        config.web.port,
        config.ami.host,
        config.ami.port,
        _safe_url(config.database.url),
    )
    web.run_app(
        create_app(config),
        host=config.web.host,
        port=config.web.port,
        print=None,
        shutdown_timeout=10.0,
    )
    return 0


def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    from callcenter.kernel.migrate import current_revision, upgrade_to_head

    Path(config.state_dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade_to_head(config.database.url))
    revision = asyncio.run(current_revision(config.database.url))
    print(f"database {_safe_url(config.database.url)} at revision {revision}")
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


# -- asterisk ----------------------------------------------------------------------------


def cmd_asterisk(config: Config, args: argparse.Namespace) -> int:
    from callcenter.asterisk import runtime

    action = args.asterisk_action
    if action == "install":
        print(runtime.install(config))
    elif action == "start":
        runtime.install(config)
        instance = runtime.start(config)
        print(
            f"asterisk started; AMI 127.0.0.1:{config.ami.port}, SIP 127.0.0.1:"
            f"{config.asterisk.sip_port}, recordings {instance.recordings_host_dir}"
        )
    elif action == "stop":
        runtime.stop(config.asterisk)
        print("asterisk stopped")
    elif action == "restart":
        runtime.restart(config)
        print("asterisk restarted")
    elif action == "status":
        status = runtime.status(config.asterisk)
        print(status)
        return 0 if status.running else 3
    elif action == "cli":
        print(runtime.cli(runtime.instance_for(config.asterisk), " ".join(args.command)))
    return 0


# -- ami replay / capture ------------------------------------------------------------------


def cmd_ami_replay(config: Config, args: argparse.Namespace) -> int:
    from callcenter.ami.transcript import TranscriptError
    from callcenter.calls.replay import ReplayReport, replay
    from callcenter.calls.tracker import CallTracker

    tracker = CallTracker(config.ring, config.tracker)
    report = ReplayReport()
    records: list[CallRecord] = []
    status = 0
    paths = [Path(p) for p in args.files]
    for path in paths:
        if not path.is_file():
            print(f"replay: cannot read {path}: no such file", file=sys.stderr)
            status = 2
    readable = [p for p in paths if p.is_file()]
    try:
        for record in replay(readable, tracker, report):
            if args.db:
                records.append(record)
            else:
                sys.stdout.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
    except TranscriptError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        status = 2
    for path, error in report.errors:
        print(f"replay: {path}: {error.describe()}; skipped", file=sys.stderr)
    if report.open_calls:
        print(
            f"replay: {len(report.open_calls)} calls still open at the end of the transcript "
            f"(not printed): {', '.join(report.open_calls[:10])}",
            file=sys.stderr,
        )
    if args.db and records:
        asyncio.run(_write_records(args.db, records))
        print(f"replay: wrote {len(records)} call records to {_safe_url(args.db)}", file=sys.stderr)
    print(f"replay: {report.events} events, {len(report.errors)} malformed", file=sys.stderr)
    return status


async def _write_records(url: str, records: Sequence[CallRecord]) -> None:
    from callcenter.calls.store import CallRepository
    from callcenter.kernel.db import create_engine, create_session_factory
    from callcenter.kernel.migrate import upgrade_to_head

    await upgrade_to_head(url)
    engine = create_engine(url)
    try:
        repository = CallRepository(create_session_factory(engine))
        batch = list(records)
        for start in range(0, len(batch), 500):
            await repository.upsert_calls(batch[start : start + 500])
    finally:
        await engine.dispose()


def cmd_ami_capture(config: Config, args: argparse.Namespace) -> int:
    from callcenter.ami.client import AmiClient
    from callcenter.ami.transcript import WireRecorder

    recorder = WireRecorder(Path(args.out))

    async def capture() -> None:
        client = AmiClient(config.ami, raw_sink=recorder)
        task = asyncio.create_task(client.run(), name="ami-capture")
        try:
            await asyncio.wait_for(asyncio.shield(task), args.seconds)
        except TimeoutError:
            pass
        finally:
            await client.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)

    try:
        asyncio.run(capture())
    except KeyboardInterrupt:
        pass
    finally:
        recorder.close()
    print(f"captured {recorder.bytes_written} bytes to {args.out}", file=sys.stderr)
    return 0


# -- recordings check ----------------------------------------------------------------------


def cmd_recordings_check(config: Config, args: argparse.Namespace) -> int:
    from callcenter.calls.recording_check import check_recordings

    report = asyncio.run(check_recordings(config.database.url, config.recordings_dir))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.describe())
    return 0 if report.ok else 1


# -- doctor --------------------------------------------------------------------------------


def cmd_doctor(config: Config, args: argparse.Namespace) -> int:
    from callcenter.ops.doctor import exit_status, format_json, format_plain, run_checks

    if not args.verbose:
        # The doctor reports AMI failures itself; the client's own log lines would repeat them.
        logging.getLogger("callcenter.ami").setLevel(logging.CRITICAL)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    results = asyncio.run(run_checks(config, timeout=args.timeout))
    print(format_json(results) if args.json else format_plain(results))
    return exit_status(results)


# -- agents (through the running service's API, so its router sees every change) ----------


def cmd_agent(config: Config, args: argparse.Namespace) -> int:

    base = args.url or f"http://{config.web.host}:{config.web.port}"
    action = args.agent_action
    if action == "list":
        method, path, body = "GET", "/api/agents", None
    elif action == "add":
        body = {"staff_no": args.staff_no, "name": args.name, "endpoint": args.endpoint}
        if args.skills:
            body["skills"] = [s.strip() for s in args.skills.split(",") if s.strip()]
        method, path = "POST", "/api/agents"
    elif action == "remove":
        method, path, body = "DELETE", f"/api/agents/{args.staff_no}", None
    elif action == "pause":
        method, path, body = "POST", f"/api/agents/{args.staff_no}/pause", {"reason": args.reason}
    else:
        method, path, body = "POST", f"/api/agents/{args.staff_no}/{action}", None

    result = _call_service(config, base, method, path, body)
    if isinstance(result, int):
        return result
    data = result
    if action == "list" and isinstance(data, dict):
        for agent in data["agents"]:
            reason = f" ({agent['pause_reason']})" if agent["pause_reason"] else ""
            print(
                f"{agent['staff_no']:>8}  {agent['endpoint']:<12} {agent['state']}{reason}"
                f"  {agent['name']}"
            )
    else:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    return 0


def _call_service(
    config: Config, base: str, method: str, path: str, body: object
) -> object | int:
    """The service's JSON answer, or the exit status after printing its error."""
    import aiohttp

    from callcenter.accounts.service_token import service_token

    token = service_token(config, create=False)
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def call() -> tuple[int, object]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
            session.request(method, base + path, json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    try:
        status, data = asyncio.run(call())
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(
            f"callcenter: the service at {base} is not reachable ({exc}); start it with"
            " `callcenter serve`",
            file=sys.stderr,
        )
        return 2
    if status >= 400 and isinstance(data, dict):
        print(f"callcenter: {data.get('error_id')}: {data.get('message')}", file=sys.stderr)
        return 1
    return data


def cmd_callback(config: Config, args: argparse.Namespace) -> int:
    base = args.url or f"http://{config.web.host}:{config.web.port}"
    action = args.callback_action
    body: dict[str, object] | None = None
    if action == "list":
        method, path = "GET", "/api/callbacks" + ("?overdue=1" if args.overdue else "")
    elif action == "create":
        method, path = "POST", "/api/callbacks"
        body = {"number": args.number, "purpose": args.purpose}
    elif action == "cancel":
        method, path = "POST", f"/api/callbacks/{args.callback_id}/cancel"
    else:
        method, path = "POST", f"/api/callbacks/{args.callback_id}/reschedule"
        body = {"due_at": args.due_at}
    result = _call_service(config, base, method, path, body)
    if isinstance(result, int):
        return result
    if action == "list" and isinstance(result, dict):
        for cb in result["callbacks"]:
            print(
                f"{cb['id']:>6}  {cb['number']:<16} {cb['purpose']:<18} {cb['status']:<10}"
                f" attempts {cb['attempts']}/{cb['max_attempts']}"
            )
    else:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


# -- argument parsing ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callcenter", description="Call-center backend for Asterisk."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the backend against the configured Asterisk")
    serve.add_argument("--no-migrate", action="store_true", help="do not upgrade the database")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="upgrade the database to the latest schema")
    migrate.set_defaults(func=cmd_migrate)

    asterisk = sub.add_parser("asterisk", help="manage the local Asterisk")
    asterisk.add_argument(
        "asterisk_action", choices=["install", "start", "stop", "restart", "status", "cli"]
    )
    asterisk.add_argument("command", nargs="*", help="for `cli`: the Asterisk CLI command")
    asterisk.set_defaults(func=cmd_asterisk)

    ami = sub.add_parser("ami", help="AMI tools: replay and capture transcripts")
    ami_sub = ami.add_subparsers(dest="ami_action", required=True)
    rep = ami_sub.add_parser("replay", help="print one JSON call record per line from transcripts")
    rep.add_argument("files", nargs="+", help="raw AMI captures or JSON event lists")
    rep.add_argument("--db", help="write the records to this database URL instead of stdout")
    rep.set_defaults(func=cmd_ami_replay)
    cap = ami_sub.add_parser("capture", help="record the live AMI stream, raw bytes")
    cap.add_argument("--out", required=True)
    cap.add_argument("--seconds", type=float, default=60.0)
    cap.set_defaults(func=cmd_ami_capture)

    rec = sub.add_parser("recordings", help="recording checks")
    rec_sub = rec.add_subparsers(dest="recordings_action", required=True)
    check = rec_sub.add_parser(
        "check", help="recordings with no call, answered calls with no recording"
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_recordings_check)
    from callcenter.qa.commands import add_qa_commands, add_recordings_commands

    add_recordings_commands(rec_sub)  # purge (retention), catalogue
    add_qa_commands(sub)  # qa draw|verify-draw|assign|samples

    doctor = sub.add_parser(
        "doctor", help="check Asterisk, AMI, dialplan, disk, database, ASR model and clock"
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as a JSON list")
    doctor.add_argument(
        "--timeout", type=float, default=5.0, help="seconds per network check (default 5)"
    )
    doctor.set_defaults(func=cmd_doctor)

    agent = sub.add_parser("agent", help="manage agents through the running service")
    agent.add_argument("--url", help="the service's base URL (default: from the config)")
    agent_sub = agent.add_subparsers(dest="agent_action", required=True)
    agent_sub.add_parser("list", help="agents and their states")
    add = agent_sub.add_parser("add", help="add an agent (its PJSIP endpoint is created)")
    add.add_argument("staff_no")
    add.add_argument("name")
    add.add_argument("--endpoint", required=True, help="the agent's softphone endpoint")
    add.add_argument("--skills", help="comma-separated skills (default: the inbound skill)")
    for name in ("remove", "login", "logout", "unpause"):
        agent_sub.add_parser(name).add_argument("staff_no")
    pause = agent_sub.add_parser("pause")
    pause.add_argument("staff_no")
    pause.add_argument("reason")
    agent.set_defaults(func=cmd_agent)

    callback = sub.add_parser("callback", help="the callback queue, through the running service")
    callback.add_argument("--url", help="the service's base URL (default: from the config)")
    cb_sub = callback.add_subparsers(dest="callback_action", required=True)
    cb_list = cb_sub.add_parser("list", help="callbacks, or only the overdue ones")
    cb_list.add_argument("--overdue", action="store_true")
    create = cb_sub.add_parser("create", help="queue a callback (merged with an open one)")
    create.add_argument("number")
    create.add_argument("--purpose", default="press-1")
    cb_sub.add_parser("cancel").add_argument("callback_id", type=int)
    resched = cb_sub.add_parser("reschedule", help="move a pending callback (out of quiet hours)")
    resched.add_argument("callback_id", type=int)
    resched.add_argument("due_at", help="ISO time with its offset, e.g. 2026-11-24T10:00+08:00")
    callback.set_defaults(func=cmd_callback)

    from callcenter.accounts.commands import add_parser as add_user_parser

    add_user_parser(sub)

    from callcenter.asr.commands import add_asr_parser

    add_asr_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_module.load(os.environ)
    except ConfigError as exc:
        print(f"callcenter: configuration error: {exc}", file=sys.stderr)
        return 2
    _setup_logging(config, args.verbose)
    result: int = args.func(config, args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
