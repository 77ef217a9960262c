"""Log output: JSON lines, context fields, phone numbers masked, secrets redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from callcenter import config as config_mod
from callcenter.config import ConfigError
from callcenter.ops.logging import (
    config_secrets,
    mask_phone_numbers,
    setup_logging,
)

AMI_SECRET = "s3cret-ami-pw"
DB_URL = "postgresql+asyncpg://callcenter:db%2Fpass%3Aword@db.example:5432/cc"


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """Give setup_logging the root logger and put it back as pytest had it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def _capture(fmt: str) -> io.StringIO:
    stream = io.StringIO()
    setup_logging(fmt, logging.INFO, secrets=config_secrets(AMI_SECRET, DB_URL), stream=stream)
    return stream


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_level_logger_message_and_context(
    root_logger: logging.Logger,
) -> None:
    stream = _capture("json")
    logging.getLogger("callcenter.calls.service").info(
        "call %s finished after %d rings",
        "1700000000.10",
        2,
        extra={"linkedid": "1700000000.10", "agent": "1001"},
    )
    logging.getLogger("callcenter.ami.client").warning("AMI connection lost")
    first, second = _json_lines(stream)
    assert first["level"] == "INFO"
    assert first["logger"] == "callcenter.calls.service"
    assert first["message"] == "call 1700000000.10 finished after 2 rings"
    assert first["linkedid"] == "1700000000.10"
    assert first["agent"] == "1001"
    assert isinstance(first["ts"], str) and first["ts"].endswith("Z")
    assert second["level"] == "WARNING"
    assert "linkedid" not in second and "agent" not in second


def test_json_lines_include_the_traceback_cleaned(root_logger: logging.Logger) -> None:
    stream = _capture("json")
    try:
        raise RuntimeError(f"login with {AMI_SECRET} from 13800138000 refused")
    except RuntimeError:
        logging.getLogger("callcenter").exception("resync failed")
    (entry,) = _json_lines(stream)
    exc = str(entry["exc"])
    assert "RuntimeError" in exc
    assert AMI_SECRET not in exc and "13800138000" not in exc
    assert "*******8000" in exc


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("caller 13800138000 waited", "caller *******8000 waited"),
        ("from +8613800138000.", "from +*********8000."),
        ("tel:5551234;x=1", "tel:***1234;x=1"),
        ("sip:15551238000@trunk", "sip:*******8000@trunk"),
        ("PJSIP/15551238000-00000012", "PJSIP/*******8000-00000012"),
        # Not phone numbers: short numbers, linkedids/epochs, channel sequence, hex ids.
        ("agent 1001 on queue 600 port 15038", "agent 1001 on queue 600 port 15038"),
        ("linkedid 1700000000.10 at 1795426742.524522", None),
        ("PJSIP/2001-00000012 hung up", None),
        ("Local/600@from-callers-0000000a;1", None),
        ("actionid 8dcd34-1234567x", None),
    ],
)
def test_phone_numbers_keep_only_their_last_four_digits(text: str, masked: str | None) -> None:
    assert mask_phone_numbers(text) == (text if masked is None else masked)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # International, any grouping; the plus may be URL-encoded.
        ("+86 139 1234 5678", "+** *** **** 5678"),
        ("+86-139-1234-5678", "+**-***-****-5678"),
        ("+1.415.555.0100", "+*.***.***.0100"),
        ("+1 (415) 555-0100", "+* (***) ***-0100"),
        ("+44 (0)20 7946 0958", "+** (*)** **** 0958"),
        (
            "GET /api/panel/contacts/%2B8613912345678 200",
            "GET /api/panel/contacts/%2B*********5678 200",
        ),
        ("q=%2B86%20139%201234%205678&x=1", "q=%2B**%20***%20****%205678&x=1"),
        ("tel%3A13912345678%40trunk", "tel%3A*******5678%40trunk"),
        ("+8613800138000 15038", "+*********8000 15038"),  # the port after it stays
        # National, grouped by spaces or dashes, area code in parentheses, dotted.
        ("call 139-1234-5678 now", "call ***-****-5678 now"),
        ("139 1234 5678", "*** **** 5678"),
        ("(010) 1234-5678", "(***) ****-5678"),
        ("(0755)12345678", "(****)****5678"),
        ("0755-1234-5678", "****-****-5678"),
        ("010-12345678", "***-****5678"),
        ("415.555.0100", "***.***.0100"),
        ("139 1234 5678 15038", "*** **** 5678 15038"),
        ("１３９１２３４５６７８", "*******５６７８"),  # full-width digits (IME input)
        # Not phone numbers.
        ("2026-12-03 10:00:00", None),
        ("2026-12-03T10:00:00.123456+08:00", None),
        ("linkedid 1733240000.123 uniqueid asterisk-1733240000.124", None),
        ("due 1733240000 (ms 1733240000123)", None),
        ("127.0.0.1:5432 192.168.100.200:15038 [::1]:8080", None),
        ("ports 15038 15060 15073", None),
        ("took 12.5 s, 00:01:23, 3600.0 s, 1500 ms", None),
        ("Asterisk 22.10.1+dfsg+~cs6.17.60671434-1", None),
        ("PJSIP/2001-00000012 and Local/600@from-callers-0000000a;1", None),
        ("%2B0800 offset, %20 spaces, 100%25", None),
    ],
)
def test_every_written_form_of_a_phone_number_is_masked_and_nothing_else(
    text: str, masked: str | None
) -> None:
    assert mask_phone_numbers(text) == (text if masked is None else masked)


def test_a_request_path_logged_with_a_url_encoded_number_is_masked(
    root_logger: logging.Logger,
) -> None:
    stream = _capture("plain")
    try:
        raise KeyError("+86 139 1234 5678")
    except KeyError as exc:
        logging.getLogger("callcenter.kernel.web.errors").error(
            "internal error answering %s %s: %s",
            "PUT",
            "/api/panel/contacts/%2B86%20139%201234%205678",
            type(exc).__name__,
            exc_info=exc,
        )
    out = stream.getvalue()
    assert "/api/panel/contacts/%2B**%20***%20****%205678: KeyError" in out
    assert "KeyError: '+** *** **** 5678'" in out
    assert "139%201234" not in out and "139 1234" not in out


def test_phone_numbers_are_masked_in_message_args_and_context_fields(
    root_logger: logging.Logger,
) -> None:
    stream = _capture("json")
    logging.getLogger("callcenter").info(
        "callback to %s scheduled", "13800138000", extra={"agent": "13912345678"}
    )
    (entry,) = _json_lines(stream)
    assert entry["message"] == "callback to *******8000 scheduled"
    assert entry["agent"] == "*******5678"


def test_secrets_are_redacted_wherever_they_appear(root_logger: logging.Logger) -> None:
    stream = _capture("plain")
    log = logging.getLogger("callcenter")
    log.info("login with secret %s", AMI_SECRET)
    log.info("database %s", DB_URL)
    log.info("decoded password db/pass:word leaked")
    # A URL nobody configured still loses its password.
    log.info("fallback postgresql://admin:hunter2@10.0.0.1/postgres")
    out = stream.getvalue()
    assert AMI_SECRET not in out
    assert "db%2Fpass%3Aword" not in out and "db/pass:word" not in out
    assert "hunter2" not in out
    assert "postgresql+asyncpg://callcenter:***@db.example:5432/cc" in out
    assert "postgresql://admin:***@10.0.0.1/postgres" in out
    assert out.count("***") == 4


def test_a_numeric_secret_is_redacted_whole_not_masked(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    setup_logging("plain", logging.INFO, secrets=["987654321012"], stream=stream)
    logging.getLogger("callcenter").info("secret 987654321012")
    assert stream.getvalue().rstrip().endswith("secret ***")


def test_plain_lines_show_the_context_fields(root_logger: logging.Logger) -> None:
    stream = _capture("plain")
    logging.getLogger("callcenter.calls").info(
        "call ended", extra={"linkedid": "1700000000.10", "agent": "1001"}
    )
    line = stream.getvalue().strip()
    assert line.endswith("INFO callcenter.calls: call ended [linkedid=1700000000.10 agent=1001]")


def test_setting_up_twice_replaces_the_handler(root_logger: logging.Logger) -> None:
    before = len(root_logger.handlers)
    first = _capture("plain")
    second = _capture("json")
    assert len(root_logger.handlers) == before + 1
    logging.getLogger("callcenter").warning("once")
    assert first.getvalue() == ""
    assert _json_lines(second)[0]["message"] == "once"


def test_log_format_comes_from_the_environment() -> None:
    assert config_mod.load({}).ops.log_format == "plain"
    assert config_mod.load({"CALLCENTER_LOG_FORMAT": "json"}).ops.log_format == "json"
    with pytest.raises(ConfigError, match="CALLCENTER_LOG_FORMAT"):
        config_mod.load({"CALLCENTER_LOG_FORMAT": "xml"})
