"""Which answered calls get a satisfaction follow-up: a stable draw at the configured share."""

from __future__ import annotations

import pytest

from callcenter.callbacks.sources import sampled_for_follow_up
from callcenter.config import ConfigError, load


def test_the_draw_is_stable_per_call_and_close_to_the_share() -> None:
    ids = [f"17000{n:05d}.{n % 7}" for n in range(20_000)]
    picked = [i for i in ids if sampled_for_follow_up(i, 0.1)]
    assert 0.09 < len(picked) / len(ids) < 0.11
    assert picked == [i for i in ids if sampled_for_follow_up(i, 0.1)]  # same calls again
    assert not any(sampled_for_follow_up(i, 0.0) for i in ids)
    assert all(sampled_for_follow_up(i, 1.0) for i in ids)
    # A bigger share keeps every call a smaller one picked.
    assert set(picked) <= {i for i in ids if sampled_for_follow_up(i, 0.3)}


def test_the_share_must_be_between_0_and_1() -> None:
    assert load({"CALLCENTER_FOLLOW_UP_SHARE": "0.25"}).callbacks.follow_up_share == 0.25
    for bad in ("1.5", "-0.1", "a lot"):
        with pytest.raises(ConfigError, match="CALLCENTER_FOLLOW_UP_SHARE"):
            load({"CALLCENTER_FOLLOW_UP_SHARE": bad})
