"""Listeners: adding returns the removal; telling works on a snapshot."""

from __future__ import annotations

from callcenter.kernel.listeners import Listeners


def test_given_two_listeners_when_one_is_removed_then_only_the_other_is_told() -> None:
    listeners: Listeners[str] = Listeners()
    remove_a = listeners.add("a")
    listeners.add("b")
    remove_a()
    remove_a()  # twice is harmless
    assert list(listeners) == ["b"]
    assert len(listeners) == 1


def test_a_listener_removed_while_telling_does_not_skip_the_next() -> None:
    listeners: Listeners[str] = Listeners()
    removals = {name: listeners.add(name) for name in ("a", "b", "c")}
    told = []
    for name in listeners:
        told.append(name)
        if name == "a":
            removals["a"]()
    assert told == ["a", "b", "c"]
    assert list(listeners) == ["b", "c"]
