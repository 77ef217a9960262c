"""Start, stop and inspect a local Asterisk instance run from the versioned config.

Each function takes the whole `Config` (or its Asterisk part) so the CLI is a
one-liner: `runtime.start(config)`. They block: they are for the CLI, the test
fixtures and scripts, not for the event loop (use `asyncio.to_thread`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from callcenter.asterisk import install as _install
from callcenter.asterisk import render as _render
from callcenter.asterisk.instance import AsteriskRuntimeError, Instance, instance_for
from callcenter.config import AsteriskConfig, Config, ensure_state_dir

__all__ = [
    "AsteriskRuntimeError",
    "Instance",
    "Status",
    "install",
    "instance_for",
    "render",
    "restart",
    "start",
    "status",
    "stop",
]

log = logging.getLogger(__name__)

BOOT_TIMEOUT = 60.0
ASTERISK_UMASK = 0o077
STOP_TIMEOUT = 15.0


def install(config: Config) -> str:
    """Idempotent install; returns Asterisk's version line."""
    return _install.install(config.asterisk)


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    instance: Instance

    def __str__(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "stopped"
        return f"asterisk instance {self.instance.name!r} ({self.instance.mode}): {state}"


def render(config: Config) -> Instance:
    """Render the config into the instance and link `instance_dir` to it."""
    instance = instance_for(config.asterisk)
    ensure_state_dir(config.state_dir)
    _render.render(
        config.asterisk,
        config.ami,
        config.ring,
        instance,
        router=config.router,
        callbacks=config.callbacks,
    )
    _link(instance)
    return instance


def _link(instance: Instance) -> None:
    """In chroot mode, make `cfg.instance_dir` a symlink to the in-chroot directory.

    That keeps `Config.recordings_dir` a valid host path in both modes.
    """
    if instance.link == instance.root:
        return
    link = instance.link
    if link.is_symlink():
        if Path(os.readlink(link)) == instance.root:
            return
        link.unlink()
    elif link.exists():
        raise AsteriskRuntimeError(
            f"{link} is a real directory; in chroot mode it must be a symlink to "
            f"{instance.root} (remove it or set CALLCENTER_ASTERISK_INSTANCE)"
        )
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(instance.root)


def _pid(instance: Instance) -> int | None:
    """The pid of this instance's Asterisk if it runs (checked against its cmdline)."""
    try:
        pid = int(instance.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if str(instance.asterisk_conf).encode() not in cmdline:
        return None  # a stale pid file whose pid was reused
    stat = Path(f"/proc/{pid}/stat").read_text()
    return None if stat.rsplit(")", 1)[1].split()[0] == "Z" else pid


def status(asterisk: AsteriskConfig) -> Status:
    instance = instance_for(asterisk)
    pid = _pid(instance)
    return Status(running=pid is not None, pid=pid, instance=instance)


def cli(instance: Instance, command: str, timeout: float = 10.0) -> str:
    """Run one CLI command over the instance's control socket (`asterisk -rx`)."""
    proc = subprocess.run(
        instance.command("-rx", command),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AsteriskRuntimeError(f"`{command}` failed: {(proc.stdout + proc.stderr).strip()}")
    return proc.stdout


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def log_tail(instance: Instance, lines: int = 30) -> str:
    chunks = []
    for path in (instance.log_dir / "startup.log", instance.messages_log):
        if path.exists():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            chunks.append(f"--- {path} ---\n" + "\n".join(tail))
    return "\n".join(chunks) or "(no log written)"


def start(config: Config, *, timeout: float = BOOT_TIMEOUT) -> Instance:
    """Idempotent: render and start the instance, return once AMI accepts connections.

    Raises `AsteriskRuntimeError` (with the log tail) when it does not boot.
    """
    instance = instance_for(config.asterisk)
    if _pid(instance) is not None:
        return instance
    if instance.chroot_dir is not None and _install.chroot_version(instance.chroot_dir) is None:
        raise AsteriskRuntimeError(
            f"no Asterisk in {instance.chroot_dir}; run `callcenter asterisk install` first"
        )
    for port, what in ((config.ami.port, "AMI"),):
        if _port_open(port):
            raise AsteriskRuntimeError(f"{what} port {port} is already taken by another process")
    render(config)
    if instance.chroot_dir is not None:
        _install.ensure_devices(instance.chroot_dir)
    instance.pid_file.unlink(missing_ok=True)
    startup_log = instance.log_dir / "startup.log"
    fd = os.open(startup_log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        # Without -f Asterisk daemonizes: the parent exits once the child runs. umask 077:
        # what it writes (recordings, cel.jsonl, logs, astdb, sockets) is for its owner only.
        proc = subprocess.run(
            instance.command(),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=30,
            check=False,
            umask=ASTERISK_UMASK,
        )
    if proc.returncode != 0:
        raise AsteriskRuntimeError(f"asterisk exited with {proc.returncode}\n{log_tail(instance)}")
    deadline = time.monotonic() + timeout
    try:
        _wait_booted(instance, config.ami.port, deadline)
    except AsteriskRuntimeError:
        stop(config.asterisk)
        raise
    log.info("asterisk instance %s started (pid %s)", instance.name, _pid(instance))
    return instance


def _wait_booted(instance: Instance, ami_port: int, deadline: float) -> None:
    while _pid(instance) is None:
        if time.monotonic() > deadline:
            raise AsteriskRuntimeError(f"asterisk did not start\n{log_tail(instance)}")
        time.sleep(0.1)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AsteriskRuntimeError(f"asterisk did not boot in time\n{log_tail(instance)}")
        try:
            cli(instance, "core waitfullybooted", timeout=remaining)
            break
        except (AsteriskRuntimeError, subprocess.TimeoutExpired):
            if _pid(instance) is None:
                raise AsteriskRuntimeError(f"asterisk died at boot\n{log_tail(instance)}") from None
            time.sleep(0.2)  # the control socket is not there yet
    while not _port_open(ami_port):
        if time.monotonic() > deadline:
            raise AsteriskRuntimeError(
                f"asterisk booted but AMI port {ami_port} does not accept connections\n"
                f"{log_tail(instance)}"
            )
        time.sleep(0.1)


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.1)
    return False


def stop(asterisk: AsteriskConfig, *, timeout: float = STOP_TIMEOUT) -> None:
    """Idempotent graceful stop (`core stop now`), then SIGTERM, then SIGKILL."""
    instance = instance_for(asterisk)
    pid = _pid(instance)
    if pid is None:
        return
    try:
        cli(instance, "core stop now", timeout=timeout)
    except (AsteriskRuntimeError, subprocess.TimeoutExpired):
        log.warning("asterisk %s did not take `core stop now`; signalling it", instance.name)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if _wait_exit(pid, timeout):
            break
        log.warning("asterisk %s (pid %s) still running; sending %s", instance.name, pid, sig.name)
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
    else:
        if not _wait_exit(pid, timeout):
            raise AsteriskRuntimeError(f"asterisk pid {pid} survived SIGKILL")
    instance.pid_file.unlink(missing_ok=True)


def restart(config: Config, *, timeout: float = BOOT_TIMEOUT) -> Instance:
    """Stop then start: tests use it to restart Asterisk in the middle of calls."""
    stop(config.asterisk)
    return start(config, timeout=timeout)
