"""Login throttling with a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from callcenter.accounts.throttle import LoginThrottle, ThrottleSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _throttle(clock: Clock, **settings: Any) -> LoginThrottle:
    base: dict[str, Any] = {"max_failures": 5, "ip_max_failures": 30, "window": 900.0}
    return LoginThrottle(ThrottleSettings(**{**base, "lockout": 60.0, **settings}), clock)


def test_five_failures_lock_the_username(clock: Clock) -> None:
    throttle = _throttle(clock)
    for _ in range(4):
        throttle.failure("alice", "10.0.0.1")
        assert throttle.retry_after("alice", "10.0.0.1") is None
    throttle.failure("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 60
    assert throttle.retry_after("ALICE", "10.0.0.9") == 60  # usernames are case-insensitive
    assert throttle.retry_after("bob", "10.0.0.1") is None  # the address is not locked yet
    clock.now += 59.5
    assert throttle.retry_after("alice", None) == 1
    clock.now += 0.5
    assert throttle.retry_after("alice", None) is None


def test_failures_outside_the_window_do_not_count(clock: Clock) -> None:
    throttle = _throttle(clock)
    for _ in range(4):
        throttle.failure("alice", None)
    clock.now += 901
    throttle.failure("alice", None)
    assert throttle.retry_after("alice", None) is None


def test_lockouts_grow_and_are_capped(clock: Clock) -> None:
    throttle = _throttle(clock, max_lockout=200.0)
    waits = []
    for _ in range(4):
        for _ in range(5):
            throttle.failure("alice", None)
        wait = throttle.retry_after("alice", None)
        assert wait is not None
        waits.append(wait)
        clock.now += wait
    assert waits == [60, 120, 200, 200]


def test_a_quiet_window_resets_the_growth(clock: Clock) -> None:
    throttle = _throttle(clock)
    for _ in range(5):
        throttle.failure("alice", None)
    clock.now += 60 + 900
    for _ in range(5):
        throttle.failure("alice", None)
    assert throttle.retry_after("alice", None) == 60


def test_per_address_limit_across_usernames(clock: Clock) -> None:
    throttle = _throttle(clock, ip_max_failures=10)
    for i in range(10):
        throttle.failure(f"user{i}", "10.0.0.66")
    assert throttle.retry_after("someone-else", "10.0.0.66") == 60
    assert throttle.retry_after("someone-else", "10.0.0.67") is None


def test_success_clears_the_username_but_not_the_address(clock: Clock) -> None:
    throttle = _throttle(clock, ip_max_failures=6)
    for _ in range(4):
        throttle.failure("alice", "10.0.0.1")
    throttle.success("alice", "10.0.0.1")
    throttle.failure("alice", "10.0.0.1")
    assert throttle.retry_after("alice", None) is None  # alice's count started again
    throttle.failure("mallory", "10.0.0.1")  # the address's 6th failure
    assert throttle.retry_after("anyone", "10.0.0.1") == 60


def test_the_table_of_keys_is_bounded(clock: Clock) -> None:
    throttle = _throttle(clock, max_keys=100)
    for i in range(1000):
        throttle.failure(f"spray{i}", None)
    assert len(throttle._entries) == 100
