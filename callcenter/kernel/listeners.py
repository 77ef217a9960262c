"""Who wants to be told: an ordered list of callbacks where adding returns the removal.

Every subscribe in the features returns its unsubscribe, which the owner
registers for teardown (STYLE habit 2); this is that list, written once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Listeners(Generic[T]):
    def __init__(self) -> None:
        self._items: list[T] = []

    def add(self, item: T) -> Callable[[], None]:
        """Add `item`; the returned callable removes it (twice is harmless)."""
        self._items.append(item)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._items.remove(item)

        return remove

    def __iter__(self) -> Iterator[T]:
        """A snapshot: a listener may remove itself (or another) while being told."""
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)
