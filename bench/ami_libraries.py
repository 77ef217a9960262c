#!/usr/bin/env python
"""Measure the AMI client libraries against the real Asterisk, same machine, same run.

    .venv/bin/python bench/ami_libraries.py [--quick]

Libraries: asterisk-ami 0.1.7 (`asterisk.ami`), pyst2 0.5.1 (`asterisk.manager`),
panoramisk 1.4 and ours (`callcenter.ami`). asterisk-ami and pyst2 both own the
file `asterisk/__init__.py` (the last one installed wins, uninstalling either
deletes it), so each third-party library runs in its own throwaway venv
(/tmp/cc-bench-<lib>, created on first use) and every measurement runs in a
worker subprocess (this same file, `--worker LIB TEST ARGS`) that prints one
`@@result <json>` line. The parent kills a worker that overruns its deadline,
so a hanging library becomes "hung" in its cell, never a hung bench.

The parent starts its own Asterisk instance ("bench-ami", AMI 25038) from the
project's runtime in the shared chroot and stops it at the end. Measurements:
asyncio fit, ActionID correlation (200 concurrent actions), repeated headers
(UserEvent with repeated `Multi`/`ChanVariable`, `Command` output), survival
of 10 s idle, reconnect after an Asterisk restart, and parse throughput over
~20k real recorded events (offline through each library's own framing/parse
code, and over a local TCP replay server). Worker-side code imports only the
standard library and the library under test.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import threading
import time
import traceback
from typing import ClassVar

CORPUS_RAW = "/tmp/cc-bench-ami-recording.raw"  # everything our client received
CORPUS_EVENTS = "/tmp/cc-bench-ami-events.raw"  # banner + the Event frames of it
LOG_DIR = "/tmp/cc-bench-logs"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
CONTEXT = "callcenter-internal"
CHUNK = 65536
N_ACTIONS = 200
UTF8_NAME = "张伟 Zhang"

LIBS = {
    "ours": {"pip": None, "label": "ours (callcenter.ami)"},
    "panoramisk": {"pip": "panoramisk==1.4", "label": "panoramisk 1.4"},
    "asterisk-ami": {"pip": "asterisk-ami==0.1.7", "label": "asterisk-ami 0.1.7"},
    "pyst2": {"pip": "pyst2==0.5.1", "label": "pyst2 0.5.1"},
}

# What the code of each library does (read in its source) for the asyncio column;
# the worker adds the number of threads it found running after login.
ASYNC_FIT = {
    "ours": "native asyncio (one protocol task + keep-alive task)",
    "panoramisk": "native asyncio (asyncio.Protocol, futures)",
    "asterisk-ami": "threads: a reader thread per client; responses are blocking FutureResponse",
    "pyst2": "threads: 3 threads per Manager; send_action() blocks without timeout",
}
IN_OUR_LOOP = {"ours": "yes", "panoramisk": "yes", "asterisk-ami": "no", "pyst2": "no"}


def _exc(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def _emit(tag: str, payload: object = None) -> None:
    line = f"@@{tag}" if payload is None else f"@@{tag} {json.dumps(payload, default=repr)}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# =====================================================================================
# Worker side: stdlib + the library under test only.
# =====================================================================================

_thread_crashes: list[str] = []


def _excepthook(args: threading.ExceptHookArgs) -> None:
    _thread_crashes.append(f"{args.exc_type.__name__}: {args.exc_value}"[:200])
    traceback.print_exception(args.exc_type, args.exc_value, args.exc_traceback)


class Adapter:
    """One library behind one small async interface; events arrive in the loop."""

    name = ""

    def __init__(self, a: dict) -> None:
        self.a = a
        self.loop = asyncio.get_running_loop()
        self.on_event = lambda name, msg: None
        self.crash: str | None = None

    def diagnose(self, header: str) -> str:
        return ""

    def _deliver(self, msg: object) -> None:
        name = self.event_name(msg)
        self.on_event(name, msg)

    def _deliver_threadsafe(self, msg: object) -> None:
        self.loop.call_soon_threadsafe(self._deliver, msg)


class OursAdapter(Adapter):
    name = "ours"

    async def connect(self) -> None:
        from callcenter.ami.client import AmiClient
        from callcenter.config import AmiConfig

        cfg = AmiConfig(
            host=self.a["host"],
            port=self.a["port"],
            username=self.a["user"],
            secret=self.a["secret"],
        )
        self.client = AmiClient(cfg)
        self.client.subscribe(self._deliver)
        self.task = asyncio.create_task(self.client.run())
        await self.client.wait_connected(10)

    @staticmethod
    def event_name(msg):
        return msg.get("UserEvent") or msg.name

    @staticmethod
    def get(msg, key):
        return msg.get_all(key)

    async def fire(self, actions: list[dict], timeout: float) -> list:
        async def one(fields):
            fields = dict(fields)
            return await self.client.action(fields.pop("Action"), fields, timeout=timeout)

        return await asyncio.gather(*(one(f) for f in actions), return_exceptions=True)

    def state(self) -> str:
        return f"state={self.client.state.value} reconnects={self.client.reconnects}"


class PanoramiskAdapter(Adapter):
    name = "panoramisk"

    async def connect(self) -> None:
        from panoramisk import Manager

        self.m = Manager(
            host=self.a["host"],
            port=self.a["port"],
            username=self.a["user"],
            secret=self.a["secret"],
            loop=self.loop,
        )
        self.m.register_event("*", lambda manager, event: self._deliver(event))
        await self.m.connect()
        deadline = time.monotonic() + 10
        while not self.m.authenticated:
            if time.monotonic() > deadline:
                raise TimeoutError("not authenticated within 10 s")
            await asyncio.sleep(0.02)

    @staticmethod
    def event_name(msg):
        return msg.get("UserEvent") or msg.get("Event")

    @staticmethod
    def get(msg, key):
        return msg.get(key)

    async def fire(self, actions: list[dict], timeout: float) -> list:
        futures = [self.m.send_action(dict(f)) for f in actions]
        await asyncio.wait(futures, timeout=timeout)
        out = []
        for f in futures:
            if not f.done():
                out.append(TimeoutError("no response"))
            elif f.exception() is not None:
                out.append(f.exception())
            else:
                out.append(f.result())
        return out

    def state(self) -> str:
        return f"connected={self.m._connected} authenticated={self.m.authenticated}"


class AsteriskAmiAdapter(Adapter):
    name = "asterisk-ami"

    async def connect(self, auto_reconnect: bool = False) -> None:
        from asterisk.ami import AMIClient, AutoReconnect

        self.c = AMIClient(address=self.a["host"], port=self.a["port"])
        self.c.add_event_listener(lambda event, source: self._deliver_threadsafe(event))
        self.disconnects: list[str] = []
        self.c.add_listener(
            on_disconnect=lambda source, error=None: self.disconnects.append(
                "clean" if error is None else _exc(error)
            )
        )
        if auto_reconnect:
            self.auto = AutoReconnect(self.c)
        future = await asyncio.to_thread(
            self.c.login, username=self.a["user"], secret=self.a["secret"]
        )
        response = await asyncio.to_thread(lambda: future.response)
        if response is None or response.is_error():
            raise RuntimeError(f"login failed: {response}")

    @staticmethod
    def event_name(msg):
        return msg.keys.get("UserEvent") or msg.name

    @staticmethod
    def get(msg, key):
        return msg.keys.get(key)

    async def fire(self, actions: list[dict], timeout: float) -> list:
        from asterisk.ami import Action

        futures = []
        for f in actions:
            fields = dict(f)
            futures.append(self.c.send_action(Action(fields.pop("Action"), fields)))

        def collect():
            deadline = time.monotonic() + timeout
            out = []
            for fut in futures:
                fut._timeout = max(0.01, deadline - time.monotonic())
                r = fut.response
                out.append(TimeoutError("no response") if r is None else r)
            return out

        return await asyncio.to_thread(collect)

    def state(self) -> str:
        return f"disconnects={self.disconnects}"


class Pyst2Adapter(Adapter):
    name = "pyst2"

    async def connect(self) -> None:
        import asterisk.manager as am

        self.m = am.Manager()
        self.m.register_event("*", lambda event, manager: self._deliver_threadsafe(event))
        await asyncio.wait_for(
            asyncio.to_thread(self.m.connect, self.a["host"], self.a["port"]), 10
        )
        await asyncio.wait_for(
            asyncio.to_thread(self.m.login, self.a["user"], self.a["secret"]), 10
        )

    @staticmethod
    def event_name(msg):
        return msg.headers.get("UserEvent") or msg.name

    @staticmethod
    def get(msg, key):
        return msg.headers.get(key)

    async def fire(self, actions: list[dict], timeout: float) -> list:
        # send_action() blocks the caller until "the next response": concurrency
        # with this library means one thread per action.
        results: list = [TimeoutError("no response")] * len(actions)

        def one(i, fields):
            try:
                results[i] = self.m.send_action(dict(fields))
            except Exception as exc:
                results[i] = exc

        threads = [
            threading.Thread(target=one, args=(i, f), daemon=True) for i, f in enumerate(actions)
        ]
        for t in threads:
            t.start()

        def join():
            deadline = time.monotonic() + timeout
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))

        await asyncio.to_thread(join)
        return list(results)

    def state(self) -> str:
        return f"connected={self.m.connected()}"

    def diagnose(self, header: str) -> str:
        # Its message thread dies inside ManagerMsg.parse and then blocks forever
        # in `finally: t.join()` (the reader thread never ends), so no excepthook
        # fires: reproduce the parse of the same header lines to name the cause.
        import asterisk.manager as am

        try:
            am.ManagerMsg(["Event: UserEvent\r\n", f"{header}: CC_A=1\r\n"])
        except Exception as exc:
            alive = self.m.message_thread.is_alive()
            return (
                f"{_exc(exc)} in ManagerMsg.parse (message thread {'stuck' if alive else 'dead'})"
            )
        return ""


ADAPTERS = {
    "ours": OursAdapter,
    "panoramisk": PanoramiskAdapter,
    "asterisk-ami": AsteriskAmiAdapter,
    "pyst2": Pyst2Adapter,
}


async def _wait_event(queue: asyncio.Queue, timeout: float):
    try:
        return await asyncio.wait_for(queue.get(), timeout)
    except TimeoutError:
        return None


def _plain(value):
    """A JSON-able view of what the library returned for a header."""
    if isinstance(value, (str, int, float, type(None))):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)


def _keeps_all(value, needles: tuple[str, ...]) -> bool:
    text = json.dumps(_plain(value), ensure_ascii=False)
    return all(n in text for n in needles)


async def w_correlate(ad: Adapter) -> dict:
    await ad.connect()
    threads = threading.active_count()
    actions = [
        {"Action": "ExtensionState", "Exten": f"b{i}", "Context": CONTEXT} for i in range(N_ACTIONS)
    ]
    t0 = time.perf_counter()
    results = await ad.fire(actions, timeout=15)
    elapsed = time.perf_counter() - t0
    ok = mismatched = lost = errors = 0
    for i, r in enumerate(results):
        if isinstance(r, TimeoutError):
            lost += 1
        elif isinstance(r, BaseException):
            errors += 1
        else:
            exten = ad.get(r, "Exten")
            exten = exten[0] if isinstance(exten, list) else exten
            if exten == f"b{i}":
                ok += 1
            else:
                mismatched += 1
    return {
        "ok": ok,
        "mismatched": mismatched,
        "lost": lost,
        "errors": errors,
        "seconds": round(elapsed, 3),
        "threads_after_login": threads,
        "first_error": next((_exc(r) for r in results if isinstance(r, BaseException)), None),
    }


async def w_repeated(ad: Adapter) -> dict:
    queue: asyncio.Queue = asyncio.Queue()
    ad.on_event = lambda name, msg: (
        queue.put_nowait(msg) if name in ("BenchMulti", "BenchChanVar") else None
    )
    await ad.connect()
    out: dict = {}
    try:
        [resp] = await ad.fire([{"Action": "Command", "Command": "core show uptime"}], timeout=5)
        if isinstance(resp, BaseException):
            out["output"] = {"value": None, "all": False, "error": _exc(resp)}
        else:
            value = ad.get(resp, "Output")
            out["output"] = {
                "value": _plain(value),
                "all": _keeps_all(value, ("System uptime", "Last reload")),
            }
    except Exception as exc:
        out["output"] = {"value": None, "all": False, "error": _exc(exc)}
    _emit("ready")
    for key, _event, needles in (
        ("multi", "BenchMulti", ("one", "two")),
        ("chanvariable", "BenchChanVar", ("CC_A", "CC_B")),
    ):
        header = "Multi" if key == "multi" else "ChanVariable"
        msg = await _wait_event(queue, 5)
        if msg is None:
            crash = "; ".join(_thread_crashes) or ad.diagnose(header)
            [ping] = await ad.fire([{"Action": "Ping"}], timeout=3)
            alive = (
                "connection still answers"
                if not isinstance(ping, BaseException)
                else "connection dead: Ping unanswered"
            )
            out[key] = {
                "value": None,
                "all": False,
                "error": f"crashed: {crash}; {alive}" if crash else f"event not delivered; {alive}",
            }
            continue
        value = ad.get(msg, header)
        out[key] = {"value": _plain(value), "all": _keeps_all(value, needles)}
    return out


async def w_idle(ad: Adapter) -> dict:
    queue: asyncio.Queue = asyncio.Queue()
    ad.on_event = lambda name, msg: queue.put_nowait(msg) if name == "BenchIdle" else None
    await ad.connect()
    await asyncio.sleep(ad.a["idle"])
    _emit("ready")
    msg = await _wait_event(queue, 6)
    return {"delivered": msg is not None, "state": ad.state(), "thread_crashes": _thread_crashes}


async def w_reconnect(ad: Adapter) -> dict:
    queue: asyncio.Queue = asyncio.Queue()
    ad.on_event = lambda name, msg: (
        queue.put_nowait((time.time(), msg)) if name == "BenchTick" else None
    )
    if isinstance(ad, AsteriskAmiAdapter):
        await ad.connect(auto_reconnect=True)  # the library's own reconnect helper
    else:
        await ad.connect()
    _emit("ready")
    flowing = False
    deadline = time.monotonic() + ad.a["deadline"]
    while time.monotonic() < deadline:
        item = await _wait_event(queue, max(0.01, deadline - time.monotonic()))
        if item is None:
            break
        received, msg = item
        phase = ad.get(msg, "Phase")
        phase = phase[0] if isinstance(phase, list) else phase
        if phase == "before" and not flowing:
            flowing = True
            _emit("flowing")
        elif phase == "after":
            return {
                "after_tick_at": received,
                "state": ad.state(),
                "thread_crashes": _thread_crashes,
            }
    return {
        "after_tick_at": None,
        "flowed_before": flowing,
        "state": ad.state(),
        "thread_crashes": _thread_crashes,
    }


async def w_replay_tcp(ad: Adapter) -> dict:
    done = asyncio.Event()
    counts = {"events": 0, "damaged": 0}
    get = ad.get

    def on_event(name, msg):
        if name == "BenchEnd":
            done.set()
            return
        counts["events"] += 1
        if name == "BenchLoad":
            value = get(msg, "CallerName")
            value = value[0] if isinstance(value, list) else value
            if value != UTF8_NAME:
                counts["damaged"] += 1

    ad.on_event = on_event
    t0 = time.perf_counter()
    await ad.connect()
    try:
        await asyncio.wait_for(done.wait(), ad.a["timeout"])
    except TimeoutError:
        crash = "; ".join(_thread_crashes)
        return {
            **counts,
            "seconds": None,
            "error": f"BenchEnd not delivered in {ad.a['timeout']} s"
            + (f" ({crash})" if crash else ""),
        }
    return {**counts, "seconds": time.perf_counter() - t0}


def _best(fn, repeat: int) -> tuple[int, float]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - t0)
    return count, best


class _FakeSocket:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def recv(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += len(chunk)
        return chunk

    def close(self) -> None:
        pass


def w_parse_offline(lib: str, a: dict) -> dict:
    with open(a["corpus"], "rb") as f:
        data = f.read()
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]

    if lib == "ours":
        from callcenter.ami.frame import FrameParser

        def run():
            p = FrameParser()
            n = 0
            for c in chunks:
                for m in p.feed(c):
                    if "Event" in m.headers:
                        n += 1
            return n

    elif lib == "panoramisk":
        from collections import deque

        from panoramisk.ami_protocol import AMIProtocol

        class Transport:
            def write(self, data):
                pass

            def close(self):
                pass

        def run():
            counter = [0]

            class Factory:
                forgetable_actions = ()
                awaiting_actions: ClassVar[deque[object]] = deque()
                save_stream = None

                def dispatch(self, message):
                    counter[0] += 1

                def connection_lost(self, exc):
                    pass

            p = AMIProtocol()
            p.connection_made(Transport())
            p.factory = Factory()
            p.encoding = "utf8"  # what panoramisk.Manager sets
            for c in chunks:
                p.data_received(c)
            return counter[0]

    elif lib == "asterisk-ami":
        from asterisk.ami import AMIClient

        def run():
            # The library's own framing (_next_pack) and parsing (fire_recv_pack)
            # over a fake socket that hands out 64 KiB per recv().
            counter = [0]
            c = AMIClient(buffer_size=CHUNK)
            c.add_event_listener(lambda event, source: counter.__setitem__(0, counter[0] + 1))
            c._socket = _FakeSocket(data)
            c.finished = threading.Event()
            packs = c._next_pack()
            next(packs)  # banner
            for pack in packs:
                c.fire_recv_pack(pack)
            return counter[0]

    elif lib == "pyst2":
        import asterisk.manager as am

        def run():
            # The library's own framing (_receive_data: line iteration over the
            # socket file) and parsing (ManagerMsg, Event), over an in-memory file.
            # Over TCP it iterates an unbuffered SocketIO instead: see replay_tcp.
            m = am.Manager()
            m._sock = io.BytesIO(data)
            m._running.set()
            m._connected.set()
            m._receive_data()
            n = 0
            q = m._message_queue
            while not q.empty():
                lines = q.get_nowait()
                if lines:
                    msg = am.ManagerMsg(lines)
                    if msg.has_header("Event"):
                        am.Event(msg)
                        n += 1
            return n

    else:
        raise ValueError(lib)
    count, seconds = _best(run, a["repeat"])
    return {"events": count, "seconds": seconds, "utf8_split": utf8_split_check(lib)}


def utf8_split_check(lib: str) -> str:
    """One event whose CallerName is cut inside a 3-byte character by the read boundary."""
    frame = f"Event: UserEvent\r\nUserEvent: BenchLoad\r\nCallerName: {UTF8_NAME}\r\n\r\n".encode()
    cut = frame.index(UTF8_NAME.encode()) + 1
    pieces = [BANNER + frame[:cut], frame[cut:]]
    got: list = []
    if lib == "ours":
        from callcenter.ami.frame import FrameParser

        p = FrameParser()
        for piece in pieces:
            got += [m.get("CallerName") for m in p.feed(piece)]
    elif lib == "panoramisk":
        from collections import deque

        from panoramisk.ami_protocol import AMIProtocol

        class Factory:
            forgetable_actions = ()
            awaiting_actions: ClassVar[deque[object]] = deque()
            save_stream = None

            def dispatch(self, message):
                got.append(message.get("CallerName"))

        p = AMIProtocol()
        p.connection_made(None)
        p.factory = Factory()
        p.encoding = "utf8"
        for piece in pieces:
            p.data_received(piece)
    elif lib == "asterisk-ami":
        from asterisk.ami import AMIClient

        c = AMIClient(buffer_size=len(pieces[0]))
        c.add_event_listener(lambda event, source: got.append(event.keys.get("CallerName")))
        c._socket = _FakeSocket(b"".join(pieces))
        c.finished = threading.Event()
        packs = c._next_pack()
        next(packs)
        for pack in packs:
            c.fire_recv_pack(pack)
    else:
        return "n/a (decodes whole lines)"
    if got == [UTF8_NAME]:
        return "intact"
    return f"DAMAGED: {got!r}"


async def _worker_async(lib: str, test: str, a: dict) -> dict:
    ad = ADAPTERS[lib](a)
    fn = {
        "correlate": w_correlate,
        "repeated": w_repeated,
        "idle": w_idle,
        "reconnect": w_reconnect,
        "replay_tcp": w_replay_tcp,
    }[test]
    return await fn(ad)


def worker_main(lib: str, test: str, args: str) -> None:
    threading.excepthook = _excepthook
    a = json.loads(args)
    try:
        if test == "parse_offline":
            result = w_parse_offline(lib, a)
        else:
            result = asyncio.run(
                asyncio.wait_for(_worker_async(lib, test, a), a.get("budget", 120))
            )
    except BaseException as exc:
        traceback.print_exc()
        result = {
            "crashed": _exc(exc)
            if not isinstance(exc, TimeoutError)
            else "hung (worker budget exceeded)"
        }
    _emit("result", result)
    os._exit(0)  # leave stuck library threads behind


# =====================================================================================
# Parent side.
# =====================================================================================


def _load_config():
    from callcenter import config as cfgmod

    env = {
        **os.environ,
        "CALLCENTER_STATE_DIR": "/tmp/cc-bench-state",
        "CALLCENTER_AMI_PORT": "25038",
        "CALLCENTER_SIP_PORT": "25060",
        "CALLCENTER_RTP_START": "14000",
        "CALLCENTER_RTP_END": "14999",
        "CALLCENTER_ASTERISK_INSTANCE": "/tmp/cc-bench-instance",
        # Its own name: the chroot is shared with the dev and test instances.
        "CALLCENTER_ASTERISK_INSTANCE_NAME": "bench-ami",
    }
    # Share the installed chroot (where config.load puts it with HOME=/root)
    # instead of the default under the throwaway state dir.
    home = os.environ.get("HOME", "/root")
    default_chroot = os.path.join(
        os.environ.get("XDG_CACHE_HOME") or f"{home}/.cache", "callcenter", "asterisk-chroot"
    )
    env.setdefault("CALLCENTER_ASTERISK_CHROOT", default_chroot)
    # Per-install secrets in the throwaway state dir: the render refuses the dev defaults.
    return cfgmod.with_install_secrets(env)


async def ensure_venv(lib: str) -> str:
    spec = LIBS[lib]["pip"]
    if spec is None:
        return sys.executable
    venv = f"/tmp/cc-bench-{lib}"
    python = f"{venv}/bin/python"
    marker = f"{venv}/.cc-bench-ok"
    if os.path.exists(marker) and open(marker).read() == spec and os.path.exists(python):
        return python
    log = open(f"{LOG_DIR}/venv-{lib}.log", "w")
    for argv in (
        [sys.executable, "-m", "venv", "--clear", venv],
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", spec],
    ):
        proc = await asyncio.create_subprocess_exec(*argv, stdout=log, stderr=log)
        try:
            rc = await asyncio.wait_for(proc.wait(), 300)
        except TimeoutError:
            proc.kill()
            raise RuntimeError(f"{' '.join(argv)} timed out") from None
        if rc != 0:
            raise RuntimeError(f"{' '.join(argv)} failed; see {log.name}")
    with open(marker, "w") as f:
        f.write(spec)
    return python


class Worker:
    def __init__(self, lib: str, test: str, python: str, args: dict, timeout: float) -> None:
        self.lib, self.test, self.python, self.args, self.timeout = lib, test, python, args, timeout
        self.result: dict | None = None
        self.tags: dict[str, asyncio.Event] = {}

    def tag(self, name: str) -> asyncio.Event:
        return self.tags.setdefault(name, asyncio.Event())

    async def run(self) -> dict:
        err = open(f"{LOG_DIR}/{self.lib}-{self.test}.err", "w")
        env = {
            **os.environ,
            "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        }
        if self.python != sys.executable:
            env.pop("PYTHONPATH")  # the throwaway venvs must not see the project
        proc = await asyncio.create_subprocess_exec(
            self.python,
            os.path.abspath(__file__),
            "--worker",
            self.lib,
            self.test,
            json.dumps({**self.args, "budget": self.timeout - 2}),
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env=env,
        )

        async def read():
            assert proc.stdout is not None
            async for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("@@"):
                    continue
                tag, _, payload = line[2:].partition(" ")
                if tag == "result":
                    self.result = json.loads(payload)
                self.tag(tag).set()

        try:
            await asyncio.wait_for(asyncio.gather(read(), proc.wait()), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self.result is None:
            self.result = {
                "crashed": f"hung: killed after {self.timeout:.0f} s"
                if proc.returncode and proc.returncode < 0
                else f"exited {proc.returncode} without a result"
            }
        self.tag("result").set()
        return self.result


class Trigger:
    """A raw AMI connection (no events) that fires UserEvent actions without ActionID."""

    async def open(self, ami) -> Trigger:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(ami.host, ami.port), 10
        )
        await asyncio.wait_for(self.reader.readline(), 10)
        self.send(
            {"Action": "Login", "Username": ami.username, "Secret": ami.secret, "Events": "off"}
        )
        await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        self.drain = asyncio.create_task(self._drain())
        return self

    async def _drain(self) -> None:
        while await self.reader.read(65536):
            pass

    def send(self, fields: dict) -> None:
        lines = []
        for key, value in fields.items():
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"{key}: {item}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def user_event(self, name: str, **headers) -> None:
        self.send({"Action": "UserEvent", "UserEvent": name, **headers})

    async def close(self) -> None:
        self.drain.cancel()
        self.writer.close()


async def record_corpus(cfg, target_events: int) -> dict:
    """Record real events with our client's raw sink while generating load."""
    from callcenter.ami.client import AmiClient

    raw = bytearray()
    client = AmiClient(cfg.ami, raw_sink=raw.extend)
    task = asyncio.create_task(client.run())
    await client.wait_connected(10)
    t0 = time.monotonic()
    sem = asyncio.Semaphore(20)

    async def originate(i: int) -> None:
        async with sem:
            await client.action(
                "Originate",
                {
                    "Channel": f"Local/echo@{CONTEXT}",
                    "Application": "Wait",
                    "Data": "0.2",
                    "Async": "true",
                    "CallerID": f"{UTF8_NAME} <{3000 + i}>",
                    "Variable": ["BENCH_A=1", f"BENCH_SEQ={i}"],
                },
            )
            await asyncio.sleep(0.01)

    await asyncio.gather(*(originate(i) for i in range(300)))
    await asyncio.sleep(3)  # the Local channels hang up after Wait(0.2)
    seq = 0
    while raw.count(b"\r\n\r\nEvent: ") < target_events and time.monotonic() - t0 < 120:
        batch = [
            client.action(
                "UserEvent",
                {
                    "UserEvent": "BenchLoad",
                    "Seq": str(seq + k),
                    "Queue": "support",
                    "CallerIDNum": "2001",
                    "CallerName": UTF8_NAME,
                    "Linkedid": f"1700000000.{seq + k}",
                },
            )
            for k in range(200)
        ]
        seq += 200
        await asyncio.gather(*batch)
    await asyncio.sleep(1)
    await client.close()
    await asyncio.wait_for(task, 10)
    data = bytes(raw)
    with open(CORPUS_RAW, "wb") as f:
        f.write(data)
    frames = [
        fr
        for fr in data[len(data.split(b"\r\n", 1)[0]) + 2 :].split(b"\r\n\r\n")
        if fr.startswith(b"Event: ")
    ]
    events = BANNER + b"".join(fr + b"\r\n\r\n" for fr in frames)
    with open(CORPUS_EVENTS, "wb") as f:
        f.write(events)
    kinds: dict[str, int] = {}
    for fr in frames:
        name = fr.split(b"\r\n", 1)[0][7:].decode()
        kinds[name] = kinds.get(name, 0) + 1
    return {
        "events": len(frames),
        "bytes": len(events),
        "originates": 300,
        "user_events": seq,
        "seconds": round(time.monotonic() - t0, 1),
        "top_kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:8]),
    }


async def replay_server(corpus_events: bytes, repeat: int):
    """127.0.0.1 only: banner, answer every action with Success, stream the events after login."""
    body = (
        corpus_events[len(BANNER) :] * repeat + b"Event: UserEvent\r\nUserEvent: BenchEnd\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(BANNER)
            streamed = False
            while True:
                frame = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
                headers = {}
                for line in frame.decode("utf-8", "replace").split("\r\n"):
                    k, sep, v = line.partition(":")
                    if sep:
                        headers.setdefault(k.strip().lower(), v.strip())
                aid = headers.get("actionid")
                resp = "Response: Success\r\n" + (f"ActionID: {aid}\r\n" if aid else "")
                if headers.get("action", "").lower() == "login":
                    resp += "Message: Authentication accepted\r\n"
                writer.write((resp + "\r\n").encode())
                if headers.get("action", "").lower() == "login" and not streamed:
                    streamed = True
                    for i in range(0, len(body), CHUNK):
                        writer.write(body[i : i + CHUNK])
                        await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _cell_correlate(r: dict) -> str:
    if "crashed" in r:
        return r["crashed"]
    cell = f"{r['ok']} ok / {r['mismatched']} mismatched / {r['lost']} lost"
    if r["errors"]:
        cell += f" / {r['errors']} errors ({r['first_error']})"
    return cell + f" in {r['seconds']:.2f} s"


def _cell_repeated(r: dict) -> str:
    if "crashed" in r:
        return r["crashed"]
    parts = []
    for key, label in (
        ("multi", "Multi"),
        ("chanvariable", "ChanVariable"),
        ("output", "Command Output"),
    ):
        item = r.get(key) or {}
        if item.get("error"):
            parts.append(f"{label}: {item['error']}")
        elif item.get("all"):
            parts.append(f"{label}: all kept ({_short(item['value'])})")
        else:
            parts.append(f"{label}: LOST values ({_short(item['value'])})")
    return "; ".join(parts)


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _cell_idle(r: dict) -> str:
    if "crashed" in r:
        return r["crashed"]
    cell = "yes" if r["delivered"] else "NO: event after idle not delivered"
    if not r["delivered"]:
        cell += (
            f" ({r['state']}{'; ' + '; '.join(r['thread_crashes']) if r['thread_crashes'] else ''})"
        )
    return cell


def _cell_reconnect(r: dict, up_at: float | None) -> str:
    if "crashed" in r:
        return r["crashed"]
    if r.get("after_tick_at") and up_at:
        return f"yes: events again {r['after_tick_at'] - up_at:.1f} s after AMI was back"
    if r.get("flowed_before") is False:
        return "events never flowed before the restart"
    return f"NO: no event within {RECONNECT_DEADLINE} s of AMI being back ({r.get('state')})"


def _rate(r: dict, baseline: float) -> tuple[str, float | None]:
    if "crashed" in r:
        return r["crashed"], None
    if r.get("error"):
        return r["error"], None
    rate = r["events"] / r["seconds"]
    return f"{rate / 1000:.1f}k/s ({rate / baseline:.2f}x)", rate


RECONNECT_DEADLINE = 40.0


async def main(quick: bool) -> int:
    import logging

    from callcenter.ami.frame import split_baseline
    from callcenter.asterisk import runtime

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.makedirs(LOG_DIR, exist_ok=True)
    cfg = _load_config()
    ami = cfg.ami
    conn = {"host": ami.host, "port": ami.port, "user": ami.username, "secret": ami.secret}
    libs = list(LIBS)
    results: dict[str, dict] = {lib: {} for lib in libs}
    notes: dict = {}

    def say(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    say(
        f"venvs + Asterisk instance {cfg.asterisk.instance_name!r} "
        f"(AMI {ami.port}, chroot {cfg.asterisk.chroot_dir})"
    )
    venv_tasks = {lib: asyncio.create_task(ensure_venv(lib)) for lib in libs}
    instance = await asyncio.to_thread(runtime.start, cfg)
    pythons: dict[str, str] = {}
    for lib, task in venv_tasks.items():
        try:
            pythons[lib] = await task
        except Exception as exc:
            say(f"{lib}: venv failed: {exc}")
    libs = [lib for lib in libs if lib in pythons]
    try:
        version = (await asyncio.to_thread(runtime.cli, instance, "core show version")).strip()
        notes["asterisk"] = version.split(" built ")[0]
        say(notes["asterisk"])

        # 1. Record the corpus (our client, raw sink) and replay it offline.
        say("recording ~20k real events")
        notes["corpus"] = await record_corpus(cfg, 8000 if quick else 20000)
        say(f"corpus: {notes['corpus']}")
        corpus = open(CORPUS_EVENTS, "rb").read()
        repeat = 3 if quick else 7

        def baseline() -> tuple[int, float]:
            return _best(lambda: split_baseline(corpus), repeat)

        n_frames, base_s = baseline()
        baseline_rate = n_frames / base_s
        # The machine is shared: measure the baseline right before each library
        # and report each library against its neighbouring baseline.
        base_rates = [baseline_rate]
        for lib in libs:
            say(f"{lib}: offline parse")
            n2, base_s2 = baseline()
            base_rates.append(n2 / base_s2)
            results[lib]["parse"] = await Worker(
                lib, "parse_offline", pythons[lib], {"corpus": CORPUS_EVENTS, "repeat": repeat}, 180
            ).run()
            results[lib]["parse"]["baseline"] = n2 / base_s2
        notes["baseline_events_per_s"] = [round(r) for r in base_rates]
        baseline_rate = sorted(base_rates)[len(base_rates) // 2]

        # 2. The same events over a local TCP server, delivered to a handler.
        tcp_repeat = 1  # pyst2 takes ~2 ms per event over TCP
        server = await replay_server(corpus, tcp_repeat)
        port = server.sockets[0].getsockname()[1]
        for lib in libs:
            say(f"{lib}: TCP replay")
            results[lib]["tcp"] = await Worker(
                lib,
                "replay_tcp",
                pythons[lib],
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "user": "bench",
                    "secret": "bench",
                    "timeout": 150,
                },
                170,
            ).run()
        server.close()
        notes["tcp_events_expected"] = notes["corpus"]["events"] * tcp_repeat

        # 3. 200 concurrent actions.
        for lib in libs:
            say(f"{lib}: {N_ACTIONS} concurrent ExtensionState actions")
            results[lib]["correlate"] = await Worker(lib, "correlate", pythons[lib], conn, 60).run()

        # 4. Repeated headers.
        trigger = await Trigger().open(ami)
        for lib in libs:
            say(f"{lib}: repeated headers")
            w = Worker(lib, "repeated", pythons[lib], conn, 40)
            task = asyncio.create_task(w.run())
            ready = asyncio.create_task(w.tag("ready").wait())
            await asyncio.wait([ready, task], timeout=30, return_when=asyncio.FIRST_COMPLETED)
            if w.tag("ready").is_set():
                await asyncio.sleep(0.3)
                trigger.user_event("BenchMulti", Multi=["one", "two"])
                trigger.user_event("BenchChanVar", ChanVariable=["CC_A=1", "CC_B=2"])
            ready.cancel()
            results[lib]["repeated"] = await task

        # 5. Idle (all libraries at once).
        idle = 3 if quick else 10
        say(f"all: {idle} s idle, then one event")
        workers = [
            Worker(lib, "idle", pythons[lib], {**conn, "idle": idle}, idle + 30) for lib in libs
        ]
        tasks = [asyncio.create_task(w.run()) for w in workers]
        readies = [asyncio.create_task(w.tag("ready").wait()) for w in workers]
        await asyncio.wait(readies, timeout=idle + 15)
        trigger.user_event("BenchIdle")
        for w, t in zip(workers, tasks, strict=False):
            results[w.lib]["idle"] = await t
        for r in readies:
            r.cancel()
        await trigger.close()

        # 6. Reconnect after an Asterisk restart (all libraries at once, one restart).
        say("all: restart Asterisk under connected clients")
        workers = [
            Worker(
                lib,
                "reconnect",
                pythons[lib],
                {**conn, "deadline": 30 + RECONNECT_DEADLINE},
                60 + RECONNECT_DEADLINE,
            )
            for lib in libs
        ]
        tasks = [asyncio.create_task(w.run()) for w in workers]
        readies = [asyncio.create_task(w.tag("ready").wait()) for w in workers]
        await asyncio.wait(readies, timeout=20)
        trigger = await Trigger().open(ami)
        t_end = time.monotonic() + 10
        while time.monotonic() < t_end and not all(
            w.tag("flowing").is_set() or w.result for w in workers
        ):
            trigger.user_event("BenchTick", Phase="before")
            await asyncio.sleep(0.3)
        await trigger.close()
        stop_at = time.time()
        await asyncio.to_thread(runtime.stop, cfg.asterisk)
        await asyncio.to_thread(runtime.start, cfg)
        up_at = time.time()
        notes["restart_seconds"] = round(up_at - stop_at, 1)
        say(f"Asterisk back after {up_at - stop_at:.1f} s; ticking")
        trigger = await Trigger().open(ami)
        seq = 0
        while time.time() - up_at < RECONNECT_DEADLINE and not all(t.done() for t in tasks):
            trigger.user_event("BenchTick", Phase="after", Seq=str(seq))
            seq += 1
            await asyncio.sleep(0.2)
        await trigger.close()
        for w, t in zip(workers, tasks, strict=False):
            results[w.lib]["reconnect"] = await t
            results[w.lib]["reconnect"]["up_at"] = up_at
        for r in readies:
            r.cancel()
    finally:
        say("stopping the bench Asterisk instance")
        await asyncio.to_thread(runtime.stop, cfg.asterisk)

    # ---- report ---------------------------------------------------------------------
    c = notes["corpus"]
    print()
    print(
        f"AMI client libraries on {notes['asterisk']}, loopback, one run "
        f"({c['events']} recorded events, {c['bytes'] / 1e6:.1f} MB; "
        f"restart took {notes['restart_seconds']} s)"
    )
    print()
    header = [
        "library",
        "asyncio fit",
        f"{N_ACTIONS} concurrent actions",
        "repeated headers",
        f"event after {idle} s idle",
        "reconnect after Asterisk restart",
        "offline parse (x baseline)",
        "TCP delivery to handler (x baseline)",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    print(
        "| raw split baseline (`split_baseline`) | - | - | - | - | - | "
        f"{baseline_rate / 1000:.1f}k/s median of {len(base_rates)} "
        "(each library vs the baseline run just before it) | "
        f"{baseline_rate / 1000:.1f}k/s (1.00x) |"
    )
    summary = {
        "asterisk": notes["asterisk"],
        "corpus": c,
        "baseline_events_per_s": notes["baseline_events_per_s"],
        "restart_seconds": notes["restart_seconds"],
        "libraries": {},
    }
    for lib in libs:
        r = results[lib]
        threads = r.get("correlate", {}).get("threads_after_login")
        fit = f"{ASYNC_FIT[lib]}; in our loop without a thread: {IN_OUR_LOOP[lib]}"
        if threads:
            fit += f" ({threads} threads after login)"
        parse_cell, parse_rate = _rate(r["parse"], r["parse"].get("baseline") or baseline_rate)
        if r["parse"].get("utf8_split"):
            parse_cell += f"; UTF-8 char split across reads: {r['parse']['utf8_split']}"
        tcp = r["tcp"]
        tcp_cell, tcp_rate = _rate(tcp, baseline_rate)
        if tcp_rate is not None:
            if tcp["events"] != notes["tcp_events_expected"]:
                tcp_cell += f", {tcp['events']}/{notes['tcp_events_expected']} events delivered"
            if tcp.get("damaged"):
                tcp_cell += f", {tcp['damaged']} UTF-8 names damaged"
        row = [
            LIBS[lib]["label"],
            fit,
            _cell_correlate(r["correlate"]),
            _cell_repeated(r["repeated"]),
            _cell_idle(r["idle"]),
            _cell_reconnect(r["reconnect"], r["reconnect"].get("up_at")),
            parse_cell,
            tcp_cell,
        ]
        print("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
        summary["libraries"][lib] = {
            **r,
            "parse_events_per_s": parse_rate,
            "tcp_events_per_s": tcp_rate,
        }
    print()
    print("JSON " + json.dumps(summary, default=repr, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(asyncio.run(main("--quick" in sys.argv)))
