"""`callcenter callback list|create|cancel|reschedule`, through the running service.

Through the service's API, like `callcenter agent`, so a change meets the same
checks as one made in the web UI.
"""

from __future__ import annotations

import argparse

from callcenter.config import Config
from callcenter.kernel.commands import Subparsers, call_service, print_answer, service_url


def add_commands(subparsers: Subparsers) -> None:
    callback = subparsers.add_parser(
        "callback", help="the callback queue, through the running service"
    )
    callback.add_argument("--url", help="the service's base URL (default: from the config)")
    cb_sub = callback.add_subparsers(dest="callback_action", required=True)
    cb_list = cb_sub.add_parser("list", help="callbacks, or only the overdue ones")
    cb_list.add_argument("--overdue", action="store_true")
    cb_list.set_defaults(func=cmd_callback_list)
    create = cb_sub.add_parser("create", help="queue a callback (merged with an open one)")
    create.add_argument("number")
    create.add_argument("--purpose", default="press-1")
    create.set_defaults(func=cmd_callback_create)
    cancel = cb_sub.add_parser("cancel")
    cancel.add_argument("callback_id", type=int)
    cancel.set_defaults(func=cmd_callback_cancel)
    resched = cb_sub.add_parser("reschedule", help="move a pending callback (out of quiet hours)")
    resched.add_argument("callback_id", type=int)
    resched.add_argument("due_at", help="ISO time with its offset, e.g. 2026-11-24T10:00+08:00")
    resched.set_defaults(func=cmd_callback_reschedule)


def cmd_callback_list(config: Config, args: argparse.Namespace) -> int:
    path = "/api/callbacks" + ("?overdue=1" if args.overdue else "")
    data = _request(config, args, "GET", path)
    if isinstance(data, int):
        return data
    if not isinstance(data, dict):
        return print_answer(data)
    for cb in data["callbacks"]:
        print(
            f"{cb['id']:>6}  {cb['number']:<16} {cb['purpose']:<18} {cb['status']:<10}"
            f" attempts {cb['attempts']}/{cb['max_attempts']}"
        )
    return 0


def cmd_callback_create(config: Config, args: argparse.Namespace) -> int:
    body = {"number": args.number, "purpose": args.purpose}
    return print_answer(_request(config, args, "POST", "/api/callbacks", body))


def cmd_callback_cancel(config: Config, args: argparse.Namespace) -> int:
    return print_answer(_request(config, args, "POST", f"/api/callbacks/{args.callback_id}/cancel"))


def cmd_callback_reschedule(config: Config, args: argparse.Namespace) -> int:
    path = f"/api/callbacks/{args.callback_id}/reschedule"
    return print_answer(_request(config, args, "POST", path, {"due_at": args.due_at}))


def _request(
    config: Config, args: argparse.Namespace, method: str, path: str, body: object = None
) -> object | int:
    from callcenter.accounts.service_token import service_token

    token = service_token(config, create=False)
    return call_service(service_url(config, args.url), method, path, body, token=token)
