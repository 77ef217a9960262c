"""`callcenter agent list|add|remove|login|logout|pause|unpause|prompt`, through the running
service.

Not straight to the database: the service's router holds the live agent
states, so every change goes through its API and the router sees it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from callcenter.config import Config
from callcenter.kernel.commands import Subparsers, call_service, print_answer, service_url


def add_commands(subparsers: Subparsers) -> None:
    agent = subparsers.add_parser("agent", help="manage agents through the running service")
    agent.add_argument("--url", help="the service's base URL (default: from the config)")
    agent_sub = agent.add_subparsers(dest="agent_action", required=True)
    agent_sub.add_parser("list", help="agents and their states").set_defaults(func=cmd_agent_list)
    add = agent_sub.add_parser("add", help="add an agent (its PJSIP endpoint is created)")
    add.add_argument("staff_no")
    add.add_argument("name")
    add.add_argument("--endpoint", required=True, help="the agent's softphone endpoint")
    add.add_argument("--skills", help="comma-separated skills (default: the inbound skill)")
    add.set_defaults(func=cmd_agent_add)
    remove = agent_sub.add_parser("remove")
    remove.add_argument("staff_no")
    remove.set_defaults(func=cmd_agent_remove)
    for name in ("login", "logout", "unpause"):
        state = agent_sub.add_parser(name)
        state.add_argument("staff_no")
        state.set_defaults(func=cmd_agent_state)
    pause = agent_sub.add_parser("pause")
    pause.add_argument("staff_no")
    pause.add_argument("reason")
    pause.set_defaults(func=cmd_agent_pause)
    prompt = agent_sub.add_parser(
        "prompt",
        help="upload the agent's recorded staff-number announcement (a WAV of at most 1.5 s)",
    )
    prompt.add_argument("staff_no")
    prompt.add_argument("wav", nargs="?", type=Path, help="the recording (any WAV sox reads)")
    prompt.add_argument(
        "--remove", action="store_true", help="drop the recording: the generated prompt plays"
    )
    prompt.set_defaults(func=cmd_agent_prompt)


def cmd_agent_list(config: Config, args: argparse.Namespace) -> int:
    data = _request(config, args, "GET", "/api/agents")
    if isinstance(data, int):
        return data
    if not isinstance(data, dict):
        return print_answer(data)
    for agent in data["agents"]:
        reason = f" ({agent['pause_reason']})" if agent["pause_reason"] else ""
        print(
            f"{agent['staff_no']:>8}  {agent['endpoint']:<12} {agent['state']}{reason}"
            f"  {agent['name']}"
        )
    return 0


def cmd_agent_add(config: Config, args: argparse.Namespace) -> int:
    body: dict[str, object] = {
        "staff_no": args.staff_no,
        "name": args.name,
        "endpoint": args.endpoint,
    }
    if args.skills:
        body["skills"] = [s.strip() for s in args.skills.split(",") if s.strip()]
    return print_answer(_request(config, args, "POST", "/api/agents", body))


def cmd_agent_remove(config: Config, args: argparse.Namespace) -> int:
    return print_answer(_request(config, args, "DELETE", f"/api/agents/{args.staff_no}"))


def cmd_agent_state(config: Config, args: argparse.Namespace) -> int:
    """`login`, `logout` and `unpause`: the subcommand is the API's action."""
    path = f"/api/agents/{args.staff_no}/{args.agent_action}"
    return print_answer(_request(config, args, "POST", path))


def cmd_agent_pause(config: Config, args: argparse.Namespace) -> int:
    path = f"/api/agents/{args.staff_no}/pause"
    return print_answer(_request(config, args, "POST", path, {"reason": args.reason}))


def cmd_agent_prompt(config: Config, args: argparse.Namespace) -> int:
    path = f"/api/agents/{args.staff_no}/prompt"
    if args.remove:
        if args.wav is not None:
            print("callcenter: give a WAV file or --remove, not both", file=sys.stderr)
            return 2
        return print_answer(_request(config, args, "DELETE", path))
    if args.wav is None:
        print("callcenter: the recording (a WAV file) is missing", file=sys.stderr)
        return 2
    try:
        data = args.wav.read_bytes()
    except OSError as exc:
        print(f"callcenter: cannot read {args.wav}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return print_answer(_upload(config, args, path, data))


def _upload(config: Config, args: argparse.Namespace, path: str, data: bytes) -> object | int:
    """PUT a WAV body (call_service speaks JSON only)."""
    import aiohttp

    from callcenter.accounts.service_token import service_token

    token = service_token(config, create=False)
    base = service_url(config, args.url)
    headers = {"Content-Type": "audio/wav"}
    if token:
        headers["Authorization"] = f"Bearer {token}"

    async def call() -> tuple[int, object]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.put(base + path, data=data, headers=headers) as response,
        ):
            return response.status, await response.json()

    try:
        status, answer = asyncio.run(call())
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"callcenter: the service at {base} is not reachable ({exc})", file=sys.stderr)
        return 2
    if status >= 400 and isinstance(answer, dict):
        print(f"callcenter: {answer.get('error_id')}: {answer.get('message')}", file=sys.stderr)
        return 1
    return answer


def _request(
    config: Config, args: argparse.Namespace, method: str, path: str, body: object = None
) -> object | int:
    from callcenter.accounts.service_token import service_token

    token = service_token(config, create=False)
    return call_service(service_url(config, args.url), method, path, body, token=token)
