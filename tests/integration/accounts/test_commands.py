"""`callcenter user ...` against a database the service has never touched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from callcenter.accounts import passwords
from callcenter.accounts.store import AccountRepository
from callcenter.kernel.db import create_engine, create_session_factory
from tests.support.cli import cli_env, run_cli


def _cli(
    *args: str, db_url: str, tmp_path: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return run_cli("user", *args, env=cli_env(tmp_path, db_url), stdin=stdin)


async def test_first_admin_before_the_service_ever_ran(db_url: str, tmp_path: Path) -> None:
    made = _cli(
        "add",
        "admin",
        "--role",
        "admin",
        "--password-stdin",
        db_url=db_url,
        tmp_path=tmp_path,
        stdin="first-admin-password\n",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "created admin (admin)"
    agent = _cli(
        "add",
        "wang",
        "--role",
        "agent",
        "--staff-no",
        "1001",
        "--name",
        "王小明",
        "--password-stdin",
        db_url=db_url,
        tmp_path=tmp_path,
        stdin="agent-password-1\n",
    )
    assert agent.returncode == 0, agent.stderr

    no_terminal = _cli("add", "li", "--role", "qa", db_url=db_url, tmp_path=tmp_path)
    assert no_terminal.returncode == 2 and "--password-stdin" in no_terminal.stderr
    weak = _cli(
        "add",
        "li",
        "--role",
        "qa",
        "--password-stdin",
        db_url=db_url,
        tmp_path=tmp_path,
        stdin="short\n",
    )
    assert weak.returncode == 1 and "password-too-short" in weak.stderr
    no_agent = _cli(
        "add",
        "zhao",
        "--role",
        "agent",
        "--password-stdin",
        db_url=db_url,
        tmp_path=tmp_path,
        stdin="agent-password-2\n",
    )
    assert no_agent.returncode == 1 and "staff-no-required" in no_agent.stderr

    listed = _cli("list", "--json", db_url=db_url, tmp_path=tmp_path)
    users = {u["username"]: u for u in json.loads(listed.stdout)}
    assert set(users) == {"admin", "wang"}
    assert users["wang"]["staff_no"] == "1001" and users["wang"]["display_name"] == "王小明"
    assert "password_hash" not in users["wang"]

    last = _cli("disable", "admin", db_url=db_url, tmp_path=tmp_path)
    assert last.returncode == 1 and "last-admin" in last.stderr
    changed = _cli(
        "passwd",
        "wang",
        "--password-stdin",
        db_url=db_url,
        tmp_path=tmp_path,
        stdin="a-brand-new-one\n",
    )
    assert changed.returncode == 0, changed.stderr
    off = _cli("disable", "wang", db_url=db_url, tmp_path=tmp_path)
    assert off.returncode == 0 and off.stdout.strip() == "wang disabled"
    plain = _cli("list", db_url=db_url, tmp_path=tmp_path)
    assert "disabled" in plain.stdout and "admin" in plain.stdout

    engine = create_engine(db_url)
    try:
        repository = AccountRepository(create_session_factory(engine))
        wang = await repository.get_user("wang")
        admin = await repository.get_user("admin")
    finally:
        await engine.dispose()
    assert wang is not None and wang.disabled
    assert passwords.verify_password("a-brand-new-one", wang.password_hash)
    assert admin is not None and wang.password_hash.startswith("$scrypt$ln=15,")
    assert passwords.verify_password("first-admin-password", admin.password_hash)
