"""Samples go round-robin to the least-loaded inspector."""

from __future__ import annotations

from collections import Counter

import pytest

from callcenter.qa.assignment import AssignmentError, assign_balanced


def test_equal_inspectors_take_turns() -> None:
    plan = assign_balanced(list(range(1, 7)), ["qa2", "qa1", "qa3"], {})
    assert list(plan.values()) == ["qa1", "qa2", "qa3", "qa1", "qa2", "qa3"]


def test_the_loaded_inspector_gets_fewer_until_balanced() -> None:
    plan = assign_balanced(list(range(10)), ["qa1", "qa2", "qa3"], {"qa1": 4, "qa2": 1})
    final = Counter(plan.values())
    final.update({"qa1": 4, "qa2": 1})
    assert max(final.values()) - min(final.values()) <= 1
    assert Counter(plan.values())["qa1"] == 1


def test_no_inspector_is_a_clear_error() -> None:
    assert assign_balanced([], [], {}) == {}
    with pytest.raises(AssignmentError) as error:
        assign_balanced([1], [], {})
    assert error.value.error_id == "no-inspectors"
