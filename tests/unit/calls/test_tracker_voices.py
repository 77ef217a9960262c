"""One agent channel announces three recordings (mixed, agent voice, customer voice):
the record keeps all of them, and the durable trail rebuilds them the same way."""

from __future__ import annotations

from callcenter.calls.trail import TrailTranslator
from tests.support.ami_events import AGENT, CALLER, agent_answers, arrival, ev, hangups, run


def voices(at: float) -> list:  # type: ignore[type-arg]
    return [
        ev(
            "UserEvent",
            at,
            AGENT,
            UserEvent="CallRecording",
            Leg=leg,
            File=f"2023/11/14/{CALLER}/{AGENT}-{leg}.wav",
        )
        for leg in ("agent-voice", "customer-voice")
    ]


def test_the_record_carries_every_leg_of_the_agent_channel() -> None:
    (record,) = run(
        [*arrival(), *agent_answers(4.0), *voices(4.02), *hangups(24.0, CALLER, "caller")]
    )
    assert [(r.uniqueid, r.leg) for r in record.recordings] == [
        (CALLER, "caller"),
        (AGENT, "agent"),
        (AGENT, "agent-voice"),
        (AGENT, "customer-voice"),
    ]
    paths = {r.leg: r.path for r in record.recordings}
    assert paths["customer-voice"].endswith(f"{AGENT}-customer-voice.wav")
    assert record.to_json()["recordings"][3]["leg"] == "customer-voice"


def test_the_trail_twin_names_the_voice_leg() -> None:
    row = {
        "eventtype": "CallRecording",
        "userdeftype": "CallRecording",
        "eventtime": 1700000004.02,
        "channame": "PJSIP/1001-00000002",
        "appname": "CELGenUserEvent",
        "uniqueid": AGENT,
        "linkedid": CALLER,
        "eventextra": '{"extra":"customer-voice 2023/11/14/x/y-customer-voice.wav"}',
    }
    messages = list(TrailTranslator().translate([row]))
    recording = [m for m in messages if m.get("UserEvent") == "CallRecording"]
    assert recording, messages
    assert recording[0].get("Leg") == "customer-voice"
    assert recording[0].get("File") == "2023/11/14/x/y-customer-voice.wav"
