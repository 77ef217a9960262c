"""`callcenter doctor`: can this deployment take calls, and if not, what to fix.

Each check returns a `CheckResult` (name, status, detail, one-line fix hint).
The evaluations (`evaluate_*`, `parse_*`, `format_*`) are pure and unit
tested; the `check_*` coroutines do the I/O and hand what they saw to them.
AMI-dependent checks share one short-lived session; when Asterisk cannot be
reached or refuses the login they are reported as skipped, so one cause gives
one failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import enum
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from callcenter.ami.client import AmiClient
from callcenter.ami.errors import AmiActionFailed, AmiAuthError, AmiError, AmiFatalError
from callcenter.config import (
    AmiConfig,
    AsteriskConfig,
    Config,
    dev_secrets_in_use,
    is_loopback,
)
from callcenter.kernel.clock import Clock
from callcenter.kernel.db import safe_url

# What the product needs loaded: queues, recording, SIP, the user events the
# tracker reads, the dialplan itself, and AGI for the scripts.
REQUIRED_MODULES = (
    "app_queue",
    "app_mixmonitor",
    "chan_pjsip",
    "res_pjsip",
    "app_userevent",
    "pbx_config",
    "res_agi",
    "app_chanspy",  # supervisor listen, whisper, barge
)
INBOUND_CONTEXT = "from-callers"
MAX_CLOCK_SKEW = 5.0  # seconds
MIN_YEAR = 2024
MIB = 1024 * 1024


class CheckStatus(enum.StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: CheckStatus
    detail: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        """A skipped check is not a failure."""
        return self.status is not CheckStatus.FAIL

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "ok": self.ok,
            "detail": self.detail,
            "hint": self.hint,
        }


def passed(name: str, detail: str) -> CheckResult:
    return CheckResult(name, CheckStatus.OK, detail)


def failed(name: str, detail: str, hint: str) -> CheckResult:
    return CheckResult(name, CheckStatus.FAIL, detail, hint)


def skipped(name: str, detail: str) -> CheckResult:
    return CheckResult(name, CheckStatus.SKIP, f"skipped: {detail}")


# -- pure evaluations ------------------------------------------------------------------


def evaluate_modules(missing: Sequence[str], unknown: Mapping[str, str]) -> CheckResult:
    """`missing`: modules Asterisk says are not loaded; `unknown`: module -> why not checked."""
    if missing:
        names = ", ".join(missing)
        return failed(
            "asterisk-modules",
            f"not loaded: {names}",
            f"add `load = <module>.so` for {names} to modules.conf (dialplans/modules.conf) "
            "and restart Asterisk",
        )
    if unknown:
        first = next(iter(unknown.items()))
        return failed(
            "asterisk-modules",
            f"could not check {', '.join(unknown)} ({first[0]}: {first[1]})",
            "rerun `callcenter doctor`; if it persists, check Asterisk's load with "
            "`callcenter asterisk cli core show sysinfo`",
        )
    return passed("asterisk-modules", f"loaded: {', '.join(REQUIRED_MODULES)}")


_EXTENSION_LINE = re.compile(r"^\s*'[^']+'\s*=>")


def parse_dialplan_show(output: Iterable[str]) -> bool:
    """True when `dialplan show N@ctx` output lists an extension matching N."""
    return any(_EXTENSION_LINE.match(line) for line in output)


def evaluate_dialplan(output: Sequence[str] | None, number: str, context: str) -> CheckResult:
    """`output`: the `Output` lines, None when Asterisk answered the command with an error."""
    if output is not None and parse_dialplan_show(output):
        return passed("dialplan", f"inbound number {number} routed in context {context}")
    return failed(
        "dialplan",
        f"no extension {number} in context {context}",
        "check dialplans/extensions.conf and CALLCENTER_INBOUND_NUMBER, then "
        "`callcenter asterisk cli dialplan reload`",
    )


_LOG_LINE = re.compile(r"^\[[^\]]*\]\s+(?P<level>[A-Z]+)\[")
_BOOT_LINE = re.compile(r"^\[[^\]]*\]\s+Asterisk \d")


def log_problems_since_boot(lines: Sequence[str]) -> list[str]:
    """WARNING and ERROR lines of messages.log written since Asterisk last started."""
    start = 0
    for index, line in enumerate(lines):
        if _BOOT_LINE.match(line):
            start = index
    problems = []
    for line in lines[start:]:
        match = _LOG_LINE.match(line)
        if match is not None and match.group("level") in ("WARNING", "ERROR"):
            if any(marker in line for marker in _ROUTER_UNREACHABLE_LINES):
                continue  # a runtime fact, not a configuration problem: see router_fallbacks
            problems.append(line)
    return problems


_ROUTER_UNREACHABLE = "res_agi.c: Connecting to"
# What res_agi logs for one FastAGI request whose server is down.
_ROUTER_UNREACHABLE_LINES = (_ROUTER_UNREACHABLE, "res_agi.c: Couldn't connect to any host")


def router_fallbacks(lines: Sequence[str]) -> int:
    """Calls since the last boot that found the router unreachable (app_queue took them)."""
    start = 0
    for index, line in enumerate(lines):
        if _BOOT_LINE.match(line):
            start = index
    return sum(1 for line in lines[start:] if _ROUTER_UNREACHABLE in line and "/route" in line)


def evaluate_asterisk_log(problems: Sequence[str], path: Path) -> CheckResult:
    if not problems:
        return passed("asterisk-log", f"no warnings or errors since the last boot ({path})")
    first = problems[0] if len(problems[0]) <= 160 else problems[0][:157] + "..."
    return failed(
        "asterisk-log",
        f"{len(problems)} warning/error lines since the last boot, first: {first}",
        f"read {path}, fix the configuration it names, then `callcenter asterisk restart`",
    )


def evaluate_disk(path: Path, free_bytes: int, min_free_mb: int) -> CheckResult:
    free_mb = free_bytes // MIB
    if free_mb < min_free_mb:
        return failed(
            "recordings-dir",
            f"{path}: {free_mb} MiB free, below the {min_free_mb} MiB minimum",
            "free space on that filesystem (archive old recordings) or lower "
            "CALLCENTER_MIN_FREE_MB",
        )
    return passed("recordings-dir", f"{path} writable, {free_mb} MiB free")


def evaluate_clock(
    local_before: float,
    local_after: float,
    asterisk_time: float | None,
    *,
    max_skew: float = MAX_CLOCK_SKEW,
    min_year: int = MIN_YEAR,
) -> CheckResult:
    """Local clock vs Asterisk's (read between `local_before` and `local_after`)."""
    local_year = dt.datetime.fromtimestamp(local_after, dt.UTC).year
    if local_year < min_year:
        return failed(
            "clock",
            f"local clock says {local_year}",
            "set the clock (enable NTP: `timedatectl set-ntp true`)",
        )
    if asterisk_time is None:
        return skipped("clock", f"AMI unavailable; local clock year {local_year} looks sane")
    asterisk_year = dt.datetime.fromtimestamp(asterisk_time, dt.UTC).year
    if asterisk_year < min_year:
        return failed(
            "clock",
            f"Asterisk's clock says {asterisk_year}",
            "set the clock of the Asterisk host (enable NTP)",
        )
    midpoint = (local_before + local_after) / 2
    skew = asterisk_time - midpoint
    # The round trip bounds how precisely the two clocks can be compared.
    allowed = max_skew + (local_after - local_before) / 2
    if abs(skew) > allowed:
        return failed(
            "clock",
            f"Asterisk's clock is {skew:+.1f}s off this host's (more than {max_skew:.0f}s)",
            "run NTP on both hosts: call times and ring counts come from Asterisk's clock",
        )
    return passed("clock", f"Asterisk's clock within {abs(skew):.2f}s of this host's")


def evaluate_database(url_shown: str, revision: str | None, head: str) -> CheckResult:
    if revision == head:
        return passed("database", f"{url_shown} reachable, at head revision {head}")
    state = "not migrated" if revision is None else f"at revision {revision}, head is {head}"
    return failed("database", f"{url_shown} {state}", "run `callcenter migrate`")


def evaluate_asr_model(path: Path | None, exists: bool) -> CheckResult:
    if path is None:
        return skipped("asr-model", "no ASR model configured (CALLCENTER_ASR_MODEL)")
    if not exists:
        return failed(
            "asr-model",
            f"{path} does not exist",
            "install the model there or point CALLCENTER_ASR_MODEL at it "
            "(unset it to run without ASR)",
        )
    return passed("asr-model", f"{path} present")


# -- output --------------------------------------------------------------------------------

_LABELS = {CheckStatus.OK: "ok", CheckStatus.FAIL: "FAIL", CheckStatus.SKIP: "skip"}


def evaluate_secrets(weak: Sequence[str], path: Path, mode: int | None) -> CheckResult:
    """Development defaults refused by `serve`, and a secrets file others can read."""
    if weak:
        return failed(
            "secrets",
            f"development default or missing: {', '.join(weak)}",
            f"unset them to use the per-install values in {path} (made by `callcenter "
            "asterisk start` or `callcenter serve`), or set random ones",
        )
    if mode is not None and mode & 0o077:
        return failed(
            "secrets",
            f"{path} is readable by others (mode {mode & 0o777:04o})",
            f"chmod 600 {path}",
        )
    where = f"per-install, {path}" if mode is not None else "from the environment"
    return passed("secrets", f"AMI, SIP, API token and AGI key set ({where})")


def evaluate_file_modes(modes: Sequence[tuple[Path, int]]) -> CheckResult:
    """State, database, Asterisk's config, logs and recordings: nothing for group or others."""
    loose = [f"{path} ({mode & 0o777:04o})" for path, mode in modes if mode & 0o077]
    if loose:
        shown = ", ".join(loose[:5]) + (f" and {len(loose) - 5} more" if len(loose) > 5 else "")
        return failed(
            "file-modes",
            f"open to other users: {shown}",
            "`callcenter asterisk restart` tightens the instance; `chmod -R go= PATH` the rest",
        )
    return passed("file-modes", f"{len(modes)} state paths private (0600 files, 0700 dirs)")


def evaluate_exposure(host: str, tls_proxy: bool) -> CheckResult:
    """A web host beyond loopback without TLS in front sends passwords and cookies in clear."""
    if is_loopback(host):
        return passed("web-exposure", f"web host {host} is loopback only")
    if tls_proxy:
        return passed("web-exposure", f"web host {host} behind a TLS proxy (CALLCENTER_TLS_PROXY)")
    return failed(
        "web-exposure",
        f"CALLCENTER_WEB_HOST={host} serves plain HTTP beyond this machine",
        "put a TLS-terminating proxy in front and set CALLCENTER_TLS_PROXY=1, "
        "or set CALLCENTER_WEB_HOST=127.0.0.1",
    )


def format_plain(results: Sequence[CheckResult]) -> str:
    width = max((len(r.name) for r in results), default=0)
    lines = []
    for result in results:
        line = f"{_LABELS[result.status]:<4}  {result.name:<{width}}  {result.detail}"
        if result.status is CheckStatus.FAIL and result.hint:
            line += f"; fix: {result.hint}"
        lines.append(line)
    failures = sum(1 for r in results if r.status is CheckStatus.FAIL)
    skips = sum(1 for r in results if r.status is CheckStatus.SKIP)
    lines.append(
        f"doctor: {len(results) - failures - skips} ok, {failures} failed, {skips} skipped"
    )
    return "\n".join(lines)


def format_json(results: Sequence[CheckResult]) -> str:
    return json.dumps([r.to_json() for r in results], indent=2, ensure_ascii=False)


def exit_status(results: Sequence[CheckResult]) -> int:
    return 0 if all(r.ok for r in results) else 1


# -- checks with I/O -----------------------------------------------------------------------


async def check_reachable(host: str, port: int, timeout: float) -> CheckResult:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        return failed(
            "asterisk-reachable",
            f"cannot connect to AMI at {host}:{port}: {reason}",
            "start Asterisk (`callcenter asterisk start`) or fix "
            "CALLCENTER_AMI_HOST/CALLCENTER_AMI_PORT",
        )
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return passed("asterisk-reachable", f"AMI port {host}:{port} accepts connections")


@contextlib.asynccontextmanager
async def ami_session(
    config: AmiConfig, timeout: float
) -> AsyncIterator[tuple[CheckResult, AmiClient | None]]:
    """One connect + login; yields the login result and the client when it is logged in."""
    quick = dataclasses.replace(
        config,
        action_timeout=timeout,
        # One attempt is the point: no reconnect within the doctor's run.
        reconnect_min=max(config.reconnect_min, timeout * 10),
        reconnect_max=max(config.reconnect_max, timeout * 10),
    )
    client = AmiClient(quick)
    runner = asyncio.create_task(client.run(), name="doctor-ami")
    waiter = asyncio.create_task(client.wait_connected(timeout), name="doctor-ami-login")
    try:
        await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
        yield _login_result(config, runner, waiter), (client if client.connected else None)
    finally:
        waiter.cancel()
        await client.close()
        await asyncio.gather(runner, waiter, return_exceptions=True)


def _login_result(
    config: AmiConfig, runner: asyncio.Task[None], waiter: asyncio.Task[None]
) -> CheckResult:
    where = f"{config.username}@{config.host}:{config.port}"
    if runner.done():
        exc = runner.exception()
        if isinstance(exc, AmiAuthError):
            return failed(
                "ami-login",
                f"auth failed: Asterisk refused the login as {where}",
                "set CALLCENTER_AMI_SECRET (and CALLCENTER_AMI_USER) to the credentials in "
                "Asterisk's manager.conf",
            )
        if isinstance(exc, AmiFatalError):
            return failed(
                "ami-login",
                f"{config.host}:{config.port} is not an AMI server",
                "point CALLCENTER_AMI_HOST/CALLCENTER_AMI_PORT at Asterisk's manager port",
            )
        return failed("ami-login", f"AMI client stopped: {exc}", "rerun with -v to see the AMI log")
    if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
        return passed("ami-login", f"logged in as {where}")
    return failed(
        "ami-login",
        f"no login as {where} within the timeout",
        "check that Asterisk is not overloaded and that manager.conf allows this host "
        "(permit/deny)",
    )


async def check_modules(client: AmiClient) -> CheckResult:
    async def one(module: str) -> tuple[str, str | None]:
        try:
            await client.action("ModuleCheck", {"Module": module})
        except AmiActionFailed:
            return module, "missing"
        except AmiError as exc:
            return module, str(exc)
        return module, None

    answers = await asyncio.gather(*(one(m) for m in REQUIRED_MODULES))
    missing = [m for m, why in answers if why == "missing"]
    unknown = {m: why for m, why in answers if why is not None and why != "missing"}
    return evaluate_modules(missing, unknown)


async def check_dialplan(
    client: AmiClient, number: str, context: str = INBOUND_CONTEXT
) -> CheckResult:
    try:
        response = await client.action("Command", {"Command": f"dialplan show {number}@{context}"})
    except AmiActionFailed:
        # Asterisk answers `Response: Error` when nothing matches.
        return evaluate_dialplan(None, number, context)
    except AmiError as exc:
        return failed("dialplan", f"could not ask Asterisk: {exc}", "rerun `callcenter doctor`")
    return evaluate_dialplan(response.get_all("Output"), number, context)


async def check_clock(client: AmiClient | None, clock: Clock = time.time) -> CheckResult:
    """Asterisk's clock from the `Ping` response's `Timestamp` (epoch, microseconds).

    `CoreStatus` on Asterisk 22 carries only the startup and reload times,
    not the current time, so it cannot serve here.
    """
    before = clock()
    asterisk_time: float | None = None
    if client is not None:
        try:
            pong = await client.action("Ping")
        except AmiError:
            pong = None
        after = clock()
        asterisk_time = pong.timestamp if pong is not None else None
    else:
        after = before
    return evaluate_clock(before, after, asterisk_time)


def check_asterisk_log(asterisk: AsteriskConfig) -> CheckResult:
    """Blocking (resolving the instance may run apt-cache; the log may be large)."""
    from callcenter.asterisk.instance import instance_for

    path = instance_for(asterisk).messages_log
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return skipped("asterisk-log", f"Asterisk's messages log is not readable here ({path})")
    result = evaluate_asterisk_log(log_problems_since_boot(lines), path)
    fallbacks = router_fallbacks(lines)
    if fallbacks and result.ok:
        detail = (
            f"{result.detail}; {fallbacks} routing requests found the router unreachable"
            " (app_queue took those calls: is `callcenter serve` running?)"
        )
        return dataclasses.replace(result, detail=detail)
    return result


def check_recordings_dir(path: Path, min_free_mb: int) -> CheckResult:
    """Blocking: writes and removes one small file."""
    if not path.is_dir():
        return failed(
            "recordings-dir",
            f"{path} does not exist",
            "start Asterisk once (`callcenter asterisk start`) or create it, writable by Asterisk",
        )
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return failed(
            "recordings-dir",
            f"{path} is not writable: {exc.strerror or exc}",
            "fix its owner/permissions so Asterisk can write recordings there",
        )
    return evaluate_disk(path, shutil.disk_usage(path).free, min_free_mb)


async def check_database(url: str, timeout: float) -> CheckResult:
    from sqlalchemy.engine import make_url

    from callcenter.kernel.migrate import current_revision, head_revision

    shown = safe_url(url)
    try:
        parsed = make_url(url)
    except Exception:
        return failed("database", "CALLCENTER_DB_URL does not parse", "fix CALLCENTER_DB_URL")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        # Connecting would create an empty file; say what is wrong instead.
        if not await asyncio.to_thread(os.path.exists, parsed.database):
            return failed(
                "database", f"{shown}: the file does not exist", "run `callcenter migrate`"
            )
    try:
        head = head_revision()
        revision = await asyncio.wait_for(current_revision(url), timeout)
    except TimeoutError:
        return failed(
            "database",
            f"{shown} did not answer within {timeout:.0f}s",
            "start the database or fix CALLCENTER_DB_URL",
        )
    except Exception as exc:
        return failed(
            "database",
            f"{shown} unreachable: {type(exc).__name__}: {_first_line(exc)}",
            "start the database or fix CALLCENTER_DB_URL",
        )
    return evaluate_database(shown, revision, head)


def check_asr_model(path: Path | None) -> CheckResult:
    return evaluate_asr_model(path, path is not None and path.exists())


def check_secrets(config: Config) -> CheckResult:
    path = config.secrets_path
    try:
        mode: int | None = path.stat().st_mode
    except OSError:
        mode = None
    return evaluate_secrets(dev_secrets_in_use(config), path, mode)


# Enough of the recordings tree to catch files from before file modes, without a full walk.
MODE_SAMPLE = 500


def private_paths(config: Config) -> list[Path]:
    """Blocking: the state paths that must be private, those that exist."""
    from sqlalchemy.engine import make_url

    from callcenter.asterisk.instance import instance_for

    paths = [config.state_dir, config.secrets_path]
    with contextlib.suppress(Exception):
        url = make_url(config.database.url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            db = Path(str(url.database))
            paths += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    with contextlib.suppress(Exception):
        instance = instance_for(config.asterisk)
        paths += [instance.root, instance.config_dir, instance.log_dir]
        for name in ("manager.conf", "pjsip.conf", "extensions.conf"):
            paths.append(instance.config_dir / name)
        paths += [config.trail_path, instance.messages_log, config.recordings_dir]
    sample: list[Path] = []
    with contextlib.suppress(OSError):
        for dirpath, dirnames, filenames in os.walk(config.recordings_dir):
            here = Path(dirpath)
            sample += [here / name for name in (*dirnames, *filenames)]
            if len(sample) >= MODE_SAMPLE:
                break
    return [path for path in paths + sample[:MODE_SAMPLE] if path.exists()]


def check_file_modes(config: Config) -> CheckResult:
    """Blocking: stats the state paths."""
    modes = []
    for path in private_paths(config):
        with contextlib.suppress(OSError):
            modes.append((path, path.stat().st_mode))
    return evaluate_file_modes(modes)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no message"


# -- the whole run ---------------------------------------------------------------------


async def run_checks(
    config: Config, *, timeout: float = 5.0, clock: Clock = time.time
) -> list[CheckResult]:
    """Every check, in the order an operator would fix them."""
    ami = config.ami
    reachable = await check_reachable(ami.host, ami.port, timeout)
    results = [reachable]
    ami_checks = ("asterisk-modules", "dialplan")
    if not reachable.ok:
        results.append(skipped("ami-login", "Asterisk not reachable"))
        results.extend(skipped(name, "Asterisk not reachable") for name in ami_checks)
        clock_result = await check_clock(None, clock)
    else:
        async with ami_session(ami, timeout) as (login, client):
            results.append(login)
            if client is None:
                results.extend(skipped(name, "AMI login failed") for name in ami_checks)
            else:
                results.append(await check_modules(client))
                results.append(await check_dialplan(client, config.asterisk.inbound_number))
            clock_result = await check_clock(client, clock)
    results.append(await asyncio.to_thread(check_asterisk_log, config.asterisk))
    results.append(clock_result)
    results.append(
        await asyncio.to_thread(check_recordings_dir, config.recordings_dir, config.ops.min_free_mb)
    )
    results.append(await check_database(config.database.url, timeout))
    results.append(check_asr_model(config.asr_model_path))
    results.append(check_secrets(config))
    results.append(await asyncio.to_thread(check_file_modes, config))
    results.append(evaluate_exposure(config.web.host, config.web.tls_proxy))
    return results
