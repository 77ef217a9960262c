"""`callcenter user add|list|passwd|disable|enable`: accounts straight in the database.

It works before the service has ever run (the database is migrated first), so
the first admin is made with `callcenter user add admin --role admin`. The
running service reads users on every request: changes apply at once.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable

from callcenter.accounts.service import Accounts
from callcenter.accounts.users import AccountError
from callcenter.config import Config
from callcenter.kernel.commands import Subparsers
from callcenter.kernel.roles import Role


def add_commands(subparsers: Subparsers) -> None:
    user = subparsers.add_parser(
        "user", help="user accounts, in the database directly (works before the service runs)"
    )
    actions = user.add_subparsers(dest="user_action", required=True)
    add = actions.add_parser("add", help="create an account (prompts for the password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--staff-no", help="the agent this account is (required for --role agent)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=cmd_user_add)
    listing = actions.add_parser("list", help="the accounts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_user_list)
    passwd = actions.add_parser("passwd", help="set a password (ends the user's sessions)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(func=cmd_user_passwd)
    disable = actions.add_parser("disable", help="disable an account (ends its sessions)")
    disable.add_argument("username")
    disable.set_defaults(func=cmd_user_disable)
    enable = actions.add_parser("enable", help="enable an account again")
    enable.add_argument("username")
    enable.set_defaults(func=cmd_user_enable)


def cmd_user_add(config: Config, args: argparse.Namespace) -> int:
    password = _password(args)
    if password is None:
        return 2

    async def job(accounts: Accounts) -> None:
        user = await accounts.create_user(
            args.username,
            role=args.role,
            password=password,
            display_name=args.name,
            staff_no=args.staff_no,
        )
        print(f"created {user.username} ({user.role.value})")

    return _run(config, job)


def cmd_user_list(config: Config, args: argparse.Namespace) -> int:
    async def job(accounts: Accounts) -> None:
        users = await accounts.list_users()
        if args.json:
            print(json.dumps([u.to_json() for u in users], ensure_ascii=False, indent=2))
            return
        for u in users:
            state = "disabled" if u.disabled else "active"
            print(
                f"{u.username:<24} {u.role.value:<10} {u.staff_no or '-':<8} {state:<8}"
                f" {u.display_name}"
            )

    return _run(config, job)


def cmd_user_passwd(config: Config, args: argparse.Namespace) -> int:
    password = _password(args)
    if password is None:
        return 2

    async def job(accounts: Accounts) -> None:
        user = await accounts.set_password(args.username, password)
        print(f"password of {user.username} changed; their sessions ended")

    return _run(config, job)


def cmd_user_disable(config: Config, args: argparse.Namespace) -> int:
    return _set_disabled(config, args.username, disabled=True)


def cmd_user_enable(config: Config, args: argparse.Namespace) -> int:
    return _set_disabled(config, args.username, disabled=False)


def _set_disabled(config: Config, username: str, *, disabled: bool) -> int:
    async def job(accounts: Accounts) -> None:
        user = await accounts.change(username, disabled=disabled)
        print(f"{user.username} {'disabled' if user.disabled else 'enabled'}")

    return _run(config, job)


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        print(
            "callcenter: no terminal to ask for the password: pipe it with --password-stdin",
            file=sys.stderr,
        )
        return None
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("callcenter: the two passwords differ", file=sys.stderr)
        return None
    return first


def _run(config: Config, job: Callable[[Accounts], Awaitable[None]]) -> int:
    """Run `job` on a migrated database; an account error is the user's, so exit 1."""
    from callcenter.accounts.store import AccountRepository
    from callcenter.kernel.db import create_engine, create_session_factory
    from callcenter.kernel.migrate import upgrade_to_head

    async def run() -> None:
        await upgrade_to_head(config.database.url)
        engine = create_engine(config.database.url)
        try:
            await job(Accounts(AccountRepository(create_session_factory(engine)), config.auth))
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except AccountError as exc:
        print(f"callcenter: {exc.error_id}: {exc}", file=sys.stderr)
        return 1
    return 0
