from __future__ import annotations

from callcenter.ami.frame import FrameError, FrameParser
from callcenter.ami.message import Message, encode_action

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
EVENT = (
    "Event: Newchannel\r\nChannel: PJSIP/2001-00000001\r\nCallerIDName: 張三\r\n"
    "Uniqueid: 1700000000.1\r\nLinkedid: 1700000000.1\r\n\r\n"
).encode()


def _collecting() -> tuple[FrameParser, list[FrameError]]:
    errors: list[FrameError] = []
    return FrameParser(on_error=errors.append), errors


def test_banner_then_event_in_one_read() -> None:
    parser, errors = _collecting()
    messages = parser.feed(BANNER + EVENT)
    assert parser.banner == "11.0.0"
    assert [m.name for m in messages] == ["Newchannel"]
    assert messages[0].get("CallerIDName") == "張三"
    assert messages[0].offset == len(BANNER)
    assert errors == []


def test_multibyte_character_split_across_reads_is_not_damaged() -> None:
    parser, errors = _collecting()
    data = BANNER + EVENT
    split = data.index("張".encode()) + 1  # inside the 3-byte character
    assert parser.feed(data[:split]) == []
    messages = parser.feed(data[split:])
    assert messages[0].get("CallerIDName") == "張三"
    assert errors == []


def test_every_byte_boundary_gives_the_same_messages() -> None:
    data = BANNER + EVENT + EVENT.replace(b"Newchannel", b"Hangup")
    whole = FrameParser().feed(data)
    for cut in range(1, len(data)):
        parser = FrameParser()
        got = parser.feed(data[:cut]) + parser.feed(data[cut:])
        assert got == whole, cut


def test_repeated_keys_are_all_kept_in_order() -> None:
    parser, _ = _collecting()
    raw = (
        b"Event: AgentCalled\r\nChanVariable: A=1\r\nChanVariable: B=2\r\n"
        b"ChanVariable: C=3\r\nQueue: support\r\n\r\n"
    )
    (message,) = parser.feed(BANNER + raw)
    assert message.get("ChanVariable") == "A=1"
    assert message.get_all("ChanVariable") == ["A=1", "B=2", "C=3"]
    assert message.get_all("Queue") == ["support"]
    assert message.get_all("Missing") == []


def test_malformed_frame_is_reported_with_offset_and_skipped() -> None:
    parser, errors = _collecting()
    bad = b"this is not a header\r\nEvent: Bogus\r\n\r\n"
    messages = parser.feed(BANNER + bad + EVENT)
    assert [m.name for m in messages] == ["Newchannel"]
    assert len(errors) == 1
    assert errors[0].offset == len(BANNER)
    assert "Key: value" in errors[0].reason
    assert messages[0].offset == len(BANNER) + len(bad)


def test_invalid_utf8_is_reported_but_the_frame_is_kept() -> None:
    parser, errors = _collecting()
    (message,) = parser.feed(BANNER + b"Event: Newchannel\r\nCallerIDName: \xff\xfe\r\n\r\n")
    assert message.name == "Newchannel"
    assert "\ufffd" in (message.get("CallerIDName") or "")
    assert "UTF-8" in errors[0].reason


def test_connection_dropped_mid_frame_reports_the_partial_frame() -> None:
    parser, errors = _collecting()
    assert parser.feed(BANNER + EVENT[:30]) == []
    assert parser.pending_bytes == 30
    lost = parser.take_partial()
    assert lost is not None and lost.offset == len(BANNER)
    assert errors == [lost]
    assert parser.pending_bytes == 0


def test_stream_without_banner_parses_frames() -> None:
    parser, _ = _collecting()
    assert [m.name for m in parser.feed(EVENT)] == ["Newchannel"]
    assert parser.banner is None


def test_known_treats_unknown_markers_as_missing() -> None:
    message = Message({"CallerIDNum": "<unknown>", "Exten": "600", "X": ""})
    assert message.known("CallerIDNum") is None
    assert message.known("X") is None
    assert message.known("Exten") == "600"


def test_encode_action_repeats_list_values_and_rejects_line_breaks() -> None:
    raw = encode_action("Originate", {"Variable": ["A=1", "B=2"], "ActionID": "x"})
    assert raw == b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\nActionID: x\r\n\r\n"
    try:
        encode_action("Login", {"Secret": "a\r\nAction: Command"})
    except ValueError as exc:
        assert "line break" in str(exc)
    else:
        raise AssertionError("header injection was accepted")
