"""Real softphones for integration tests: an asyncio harness around baresip.

Each `Softphone` is one `baresip` process with its own config directory,
bound to 127.0.0.1, driven over its `ctrl_tcp` module (netstring-framed JSON:
commands in, responses and call events out).

baresip 1.0.0 (Debian `baresip-core`) facts this harness relies on:
- Its microphone is a WAV file (`aufile`); when the file ends, baresip hangs
  up the call. So a WAV shorter than the call makes that side hang up first:
  that is how an agent "hangs up first". A long WAV and `hangup()` lets the
  test decide instead.
- There is no null audio player; `aubridge` (with no matching source) drops
  what the far end sends.
- It opens UDP and TCP on its SIP port plus neighbouring ports, hence the
  spacing of 4 between instances; `ctrl_tcp` listens on `sip_port + 2`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

BARESIP = "baresip"
MODULE_DIR = "/usr/lib/baresip/modules"


class SoftphoneError(RuntimeError):
    pass


def ensure_baresip() -> str:
    """Path of baresip, installing Debian's baresip-core when it is missing."""
    found = shutil.which(BARESIP)
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "baresip-core"]
    if subprocess.run(cmd, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(cmd, env=env, check=True)
    found = shutil.which(BARESIP)
    if not found:
        raise SoftphoneError("baresip is still missing after installing baresip-core")
    return found


def make_wav(
    path: Path,
    seconds: float,
    *,
    text: str | None = None,
    freq: int = 440,
    voice: str | None = None,
) -> Path:
    """An 8 kHz mono 16-bit WAV of `seconds`: speech (espeak-ng) padded/trimmed, or a tone.

    8 kHz mono matches G.711, so baresip sends it without resampling. `voice`
    is an espeak-ng voice ("ko" for Korean); asking for one without espeak-ng
    fails instead of falling back to a tone.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed"]
    if voice is not None and not shutil.which("espeak-ng"):
        raise SoftphoneError(f"espeak-ng is needed for voice {voice!r}: apt-get install espeak-ng")
    if text is not None and shutil.which("espeak-ng"):
        raw = path.with_suffix(".raw.wav")
        speak = ["espeak-ng", *(["-v", voice] if voice else []), "-w", str(raw), text]
        subprocess.run(speak, check=True, capture_output=True)
        subprocess.run(
            ["sox", str(raw), *fmt, str(path), "pad", "0", str(seconds), "trim", "0", str(seconds)],
            check=True,
            capture_output=True,
        )
        raw.unlink()
    else:
        subprocess.run(
            ["sox", "-n", *fmt, str(path), "synth", str(seconds), "sine", str(freq), "vol", "0.3"],
            check=True,
            capture_output=True,
        )
    return path


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL baresip if the test process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _netstring(payload: bytes) -> bytes:
    return str(len(payload)).encode() + b":" + payload + b","


class Softphone:
    """One registered SIP user agent.

    `events` keeps every ctrl_tcp event (dicts such as
    `{"type": "CALL_ESTABLISHED", "class": "call", ...}`) in arrival order.
    """

    def __init__(
        self,
        name: str,
        user: str,
        password: str,
        sip_port: int,
        registrar_port: int,
        wav: Path,
        *,
        workdir: Path,
        auto_answer: bool = True,
        registrar_host: str = "127.0.0.1",
        record_dir: Path | None = None,
        presented_as: str | None = None,
    ) -> None:
        self.name = name
        self.user = user
        self.password = password
        self.sip_port = sip_port
        self.ctrl_port = sip_port + 2
        self.registrar = f"{registrar_host}:{registrar_port}"
        self.wav = wav
        self.workdir = workdir
        self.auto_answer = auto_answer
        # baresip's sndfile module writes what the phone hears (*-dec.wav) and sends.
        self.record_dir = record_dir
        # A caller ID of its own (`"Anonymous" <sip:anonymous@anonymous.invalid>`, as a
        # trunk hands over a withheld number): calls carry it in From and authenticate as
        # `user`; the phone does not register (the AOR is not Asterisk's), it only calls.
        self.presented_as = presented_as
        self.events: list[dict[str, Any]] = []
        self._event_added = asyncio.Condition()
        self._proc: asyncio.subprocess.Process | None = None
        self._finalizer: weakref.finalize[[int], Softphone] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._token = 0

    def __repr__(self) -> str:
        return f"Softphone({self.name!r}, user={self.user!r}, sip_port={self.sip_port})"

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.registrar}"

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        rtp = self.sip_port + 10000
        config = f"""\
poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
audio_player aubridge,nil
audio_alert aubridge,nil
audio_source aufile,{self.wav}
rtp_ports {rtp}-{rtp + 3}
call_local_timeout 120
module_path {MODULE_DIR}
module g711.so
module aufile.so
module aubridge.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
"""
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            config += f"module sndfile.so\nsnd_path {self.record_dir}\n"
        answermode = "auto" if self.auto_answer else "manual"
        account = f"<{self.aor}>;auth_pass={self.password};answermode={answermode};regint=300\n"
        if self.presented_as is not None:
            account = (
                f'{self.presented_as};outbound="sip:{self.registrar}";auth_user={self.user}'
                f";auth_pass={self.password};answermode={answermode};regint=0\n"
            )
        (self.workdir / "config").write_text(config)
        (self.workdir / "accounts").write_text(account)
        (self.workdir / "contacts").write_text("")

    def heard(self) -> list[Path]:
        """The recordings of what this phone received, oldest first (needs `record_dir`)."""
        if self.record_dir is None:
            raise SoftphoneError(f"{self}: started without record_dir")
        return sorted(self.record_dir.glob("*-dec.wav"), key=lambda p: p.stat().st_mtime)

    async def start(self, within: float = 10.0) -> None:
        """Start baresip and return once it is registered."""
        if self._proc is not None:
            raise SoftphoneError(f"{self} already started")
        binary = ensure_baresip()
        self._write_config()
        log = (self.workdir / "baresip.log").open("wb")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                binary,
                "-f",
                str(self.workdir),
                "-n",
                "127.0.0.1",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        self._finalizer = weakref.finalize(self, _kill, self._proc.pid)
        try:
            await asyncio.wait_for(self._connect_and_register(), within)
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, TimeoutError):
                raise SoftphoneError(
                    f"{self} did not register within {within} s\n{self.log_tail()}"
                ) from None
            raise

    async def _connect_and_register(self) -> None:
        while True:
            if self._proc is not None and self._proc.returncode is not None:
                raise SoftphoneError(f"{self} exited at start\n{self.log_tail()}")
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port
                )
                break
            except OSError:
                await asyncio.sleep(0.05)
        self._read_task = asyncio.create_task(self._read_loop(), name=f"{self.name}-ctrl")
        if self.presented_as is not None:
            return  # it never registers
        # Registration may complete before the ctrl connection: ask, don't only listen.
        while not await self.registered():  # noqa: ASYNC110 - polling baresip, no event to wait on
            await asyncio.sleep(0.1)

    async def registered(self) -> bool:
        info = await self.command("reginfo")
        line = next((x for x in str(info.get("data", "")).splitlines() if self.user in x), "")
        return "OK" in line

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "baresip.log"
        if not path.exists():
            return "(no baresip log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    async def _read_loop(self) -> None:
        assert self._reader is not None
        reader = self._reader
        while True:
            try:
                size = int((await reader.readuntil(b":"))[:-1])
                payload = await reader.readexactly(size + 1)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                break
            message: dict[str, Any] = json.loads(payload[:-1])
            if message.get("response"):
                future = self._pending.pop(str(message.get("token")), None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif message.get("event"):
                async with self._event_added:
                    self.events.append(message)
                    self._event_added.notify_all()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(SoftphoneError(f"{self}: control connection closed"))
        self._pending.clear()

    async def command(self, command: str, params: str = "", within: float = 5.0) -> dict[str, Any]:
        """Send one ctrl_tcp command and return baresip's response."""
        if self._writer is None:
            raise SoftphoneError(f"{self} is not started")
        self._token += 1
        token = str(self._token)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        body = {"command": command, "params": params, "token": token}
        self._writer.write(_netstring(json.dumps(body).encode()))
        await self._writer.drain()
        return await asyncio.wait_for(future, within)

    async def wait_event(
        self,
        kind: str,
        within: float = 10.0,
        *,
        since: int = 0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """The first event of type `kind` at index >= `since` (already received or coming)."""

        def find() -> dict[str, Any] | None:
            for event in self.events[since:]:
                if event.get("type") == kind and (where is None or where(event)):
                    return event
            return None

        async def wait() -> dict[str, Any]:
            async with self._event_added:
                while (found := find()) is None:
                    await self._event_added.wait()
                return found

        try:
            return await asyncio.wait_for(wait(), within)
        except TimeoutError:
            seen = [e.get("type") for e in self.events[since:]]
            raise SoftphoneError(f"{self}: no {kind} within {within} s (saw {seen})") from None

    async def dial(self, number: str) -> None:
        """Call `number` at the registrar (returns once the INVITE is sent)."""
        reply = await self.command("dial", f"sip:{number}@{self.registrar}")
        if not reply.get("ok"):
            raise SoftphoneError(f"{self}: dial {number} failed: {reply.get('data')}")

    async def answer(self) -> None:
        await self.command("accept")

    async def hangup(self) -> None:
        await self.command("hangup")

    async def send_dtmf(self, digits: str) -> None:
        """Send RFC 4733 DTMF in the current call (menu's `sndcode`).

        Measured on baresip 1.0.0: every digit arrives (AMI DTMFBegin), each
        digit ends the previous one (DTMFEnd), but the final key release fails
        with "Invalid argument", so the last digit's DTMFEnd was not seen
        within 2 s. The error reply is therefore not treated as a failure.
        """
        await self.command("sndcode", digits)

    async def stop(self) -> None:
        """Unregister and exit (SIGTERM), SIGKILL after 3 s; safe to call twice."""
        if self._read_task is not None:
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._read_task
            self._read_task = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
            self._writer = None
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 3.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._finalizer is not None:
            self._finalizer.detach()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def stop_all(phones: list[Softphone]) -> None:
    """Stop every phone even if some fail; re-raise the first failure."""
    results = await asyncio.gather(*(p.stop() for p in phones), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
