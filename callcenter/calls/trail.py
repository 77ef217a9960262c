"""The durable trail: Asterisk's CEL JSON lines turned back into tracker events.

Asterisk writes every channel event to `cel.jsonl` (dialplans/cel.conf) even
when the backend is down. Each CEL row becomes the AMI-shaped event the
tracker already understands, so a call rebuilt from the trail goes through
the same rules as a call seen live:

    CHAN_START    -> Newchannel (+ DialBegin from the caller leg for other legs)
    ANSWER        -> Newstate Up
    APP_START     -> QueueCallerJoin (app Queue)
    BRIDGE_ENTER  -> AgentConnect (the caller leg bridged with one of its legs)
    HANGUP        -> HangupRequest on the channel named by `hangupsource`
                     (SoftHangupRequest on the caller for `dialplan/...`)
    CHAN_END      -> Hangup (Cause from the HANGUP row's `hangupcause`)
    user events   -> UserEvent (CallRecording, SystemAnswer: CELGenUserEvent twins)
    LINKEDID_END  -> the call is complete in the trail

Pure apart from `read_rows`, which reads the file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from callcenter.ami.message import Message
from callcenter.calls.record import RECONSTRUCTED, CallRecord
from callcenter.calls.tracker import CallTracker
from callcenter.config import RingConfig, TrackerConfig

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass
class TrailReadReport:
    rows: int = 0
    malformed: list[int] = field(default_factory=list)  # line numbers


def read_rows(path: Path, since: float | None, report: TrailReadReport) -> list[Row]:
    """CEL rows at or after `since` (epoch); a malformed line is counted and skipped."""
    rows: list[Row] = []
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return rows
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                when = float(row["eventtime"])
            except (ValueError, KeyError, TypeError):
                report.malformed.append(number)
                continue
            if not isinstance(row, dict):
                report.malformed.append(number)
                continue
            if since is not None and when < since:
                continue
            rows.append(row)
    report.rows = len(rows)
    if report.malformed:
        log.warning(
            "CEL trail %s: %d malformed lines skipped (first at line %d)",
            path,
            len(report.malformed),
            report.malformed[0],
        )
    return rows


def _extra(row: Row) -> dict[str, Any]:
    raw = row.get("eventextra") or ""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"extra": raw}
    return value if isinstance(value, dict) else {"extra": raw}


def _interface(channel: str) -> str:
    """`PJSIP/1001-00000003` -> `PJSIP/1001` (the queue member interface)."""
    return channel.rsplit("-", 1)[0] if "-" in channel else channel


@dataclass
class _CallState:
    origin: str
    channels: dict[str, str] = field(default_factory=dict)  # channel name -> uniqueid
    causes: dict[str, str] = field(default_factory=dict)  # uniqueid -> hangup cause
    queue: str | None = None
    hung_up: bool = False
    complete: bool = False


class TrailTranslator:
    """CEL rows (in file order) -> AMI-shaped events; remembers which calls completed."""

    def __init__(self) -> None:
        self._calls: dict[str, _CallState] = {}

    def complete(self, linkedid: str) -> bool:
        state = self._calls.get(linkedid)
        return state is not None and state.complete

    def linkedids(self) -> list[str]:
        return list(self._calls)

    def translate(self, rows: Iterable[Row]) -> Iterator[Message]:
        for row in rows:
            yield from self._translate(row)

    def _translate(self, row: Row) -> Iterator[Message]:
        kind = str(row.get("eventtype") or "")
        uniqueid = str(row.get("uniqueid") or "")
        linkedid = str(row.get("linkedid") or uniqueid)
        if not uniqueid:
            return
        state = self._calls.get(linkedid)
        if state is None:
            state = self._calls[linkedid] = _CallState(origin=linkedid)
        channel = str(row.get("channame") or "")
        base = {
            "Uniqueid": uniqueid,
            "Linkedid": linkedid,
            "Channel": channel,
            "Timestamp": f"{float(row['eventtime']):.6f}",
        }
        if kind == "CHAN_START":
            state.channels[channel] = uniqueid
            yield Message(
                {
                    "Event": "Newchannel",
                    **base,
                    "CallerIDNum": str(row.get("num") or ""),
                    "CallerIDName": str(row.get("name") or ""),
                    "Exten": str(row.get("exten") or ""),
                    "Context": str(row.get("context") or ""),
                }
            )
            if uniqueid != linkedid:
                yield Message(
                    {
                        "Event": "DialBegin",
                        **base,
                        "Uniqueid": linkedid,
                        "DestUniqueid": uniqueid,
                    }
                )
        elif kind == "ANSWER":
            yield Message({"Event": "Newstate", **base, "ChannelState": "6"})
        elif kind == "APP_START" and str(row.get("appname") or "").lower() == "queue":
            state.queue = str(row.get("appdata") or "").split(",", 1)[0] or None
            yield Message({"Event": "QueueCallerJoin", **base, "Queue": state.queue or ""})
        elif kind == "BRIDGE_ENTER" and uniqueid == linkedid:
            peer = str(row.get("peer") or "")
            dest = state.channels.get(peer)
            if dest is not None:
                interface = _interface(peer)
                yield Message(
                    {
                        "Event": "AgentConnect",
                        **base,
                        "DestUniqueid": dest,
                        "Interface": interface,
                        "MemberName": interface,
                        "Queue": state.queue or "",
                    }
                )
        elif kind == "HANGUP":
            extra = _extra(row)
            state.causes[uniqueid] = str(extra.get("hangupcause", ""))
            source = str(extra.get("hangupsource") or "")
            # The first hang-up that names its source says who ended the call (a
            # ringing agent leg torn down by the queue names none, and may come first).
            if not state.hung_up and source:
                state.hung_up = True
                by = state.channels.get(source)
                if by is not None:
                    yield Message({"Event": "HangupRequest", **base, "Uniqueid": by})
                elif source.startswith("dialplan"):
                    yield Message({"Event": "SoftHangupRequest", **base, "Uniqueid": linkedid})
        elif kind == "CHAN_END":
            yield Message({"Event": "Hangup", **base, "Cause": state.causes.get(uniqueid, "")})
        elif kind == "LINKEDID_END":
            state.complete = True
        elif row.get("userdeftype"):
            name = str(row["userdeftype"])
            fields = {"Event": "UserEvent", **base, "UserEvent": name}
            if name == "CallRecording":
                leg, _, path = str(_extra(row).get("extra", "")).partition(" ")
                fields.update({"Leg": leg, "File": path})
            elif name == "Routing":
                state.queue = str(_extra(row).get("extra", "")) or state.queue
                fields["Queue"] = state.queue or ""
            yield Message(fields)


@dataclass(frozen=True)
class Rebuilt:
    """What the trail says: calls it holds from start to end, and the events of the rest."""

    complete: list[CallRecord]
    partial: dict[str, list[Message]]


def rebuild(rows: Iterable[Row], ring: RingConfig, config: TrackerConfig) -> Rebuilt:
    translator = TrailTranslator()
    tracker = CallTracker(ring, config)
    events: dict[str, list[Message]] = {}
    finished: list[CallRecord] = []
    for message in translator.translate(rows):
        events.setdefault(message.headers["Linkedid"], []).append(message)
        finished.extend(tracker.feed(message))
    finished.extend(tracker.drain())
    complete = [_mark(record) for record in finished if translator.complete(record.linkedid)]
    done = {r.linkedid for r in complete}
    partial = {
        linkedid: messages
        for linkedid, messages in events.items()
        if linkedid not in done and not translator.complete(linkedid)
    }
    return Rebuilt(complete, partial)


def _mark(record: CallRecord) -> CallRecord:
    return replace(record, notes=(*record.notes, RECONSTRUCTED))
