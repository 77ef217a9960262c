"""The scheduler's settings from the configuration (parsed once, at start)."""

from __future__ import annotations

from callcenter.callbacks.numbers import CallbackError, parse_do_not_call
from callcenter.callbacks.quiet_hours import parse_quiet_hours
from callcenter.callbacks.requests import SchedulerSettings
from callcenter.config import CallbackConfig, ConfigError


def scheduler_settings(config: CallbackConfig) -> SchedulerSettings:
    try:
        return SchedulerSettings(
            quiet_hours=parse_quiet_hours(config.quiet_hours),
            timezone=config.timezone,
            max_attempts=config.max_attempts,
            retry_spacing=config.retry_minutes * 60,
            do_not_call=parse_do_not_call(config.do_not_call),
        )
    except CallbackError as exc:
        raise ConfigError(f"callbacks: {exc}") from None
