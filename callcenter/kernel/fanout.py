"""Broadcast to many clients (WebSockets: callcenter.kernel.web.websocket) through
per-client bounded queues.

`publish()` never awaits a client: it puts the message on each subscriber's
own queue without blocking. A subscriber whose queue is full (a slow or dead
client) is dropped: its subscription is closed with the reason `slow-client`
and counted, and its WebSocket is closed. Every other client keeps receiving.

Topics: a subscriber names the topics it wants (e.g. `{"queue:support"}` or
`{"agent:1001"}`), or `None` for every message. A message published without
a topic goes to every subscriber; one with a topic goes to the subscribers of
that topic and to those that want everything.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Final

from callcenter.kernel.listeners import Listeners

log = logging.getLogger(__name__)

Message = str | bytes

DEFAULT_MAXSIZE: Final = 256
# Close reasons (also the keys of `Broadcaster.dropped`).
SLOW_CLIENT: Final = "slow-client"
CLIENT_GONE: Final = "client-gone"
SHUTDOWN: Final = "shutdown"
CLOSED: Final = "closed"


class SubscriptionClosed(Exception):
    """Raised by `Subscription.get()` once the subscription is closed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Closed:
    """Queue sentinel waking a waiting `get()` at close."""


_CLOSED_SENTINEL: Final = _Closed()


class Subscription:
    """One client's view of a broadcaster: a bounded queue of pending messages."""

    def __init__(
        self,
        broadcaster: Broadcaster,
        topics: frozenset[str] | None,
        maxsize: int,
        label: str,
    ) -> None:
        self._broadcaster = broadcaster
        self.topics = topics
        self.maxsize = maxsize
        self.label = label
        self._queue: asyncio.Queue[Message | _Closed] = asyncio.Queue(maxsize + 1)
        self.closed = False
        self.close_reason: str | None = None
        self.delivered = 0  # messages handed to the client (taken from the queue)
        self._on_close: Listeners[Callable[[str], None]] = Listeners()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def offer(self, message: Message) -> bool:
        """Queue a message without waiting; a full queue closes the subscription."""
        if self.closed:
            return False
        if self._queue.qsize() >= self.maxsize:
            self.close(SLOW_CLIENT)
            return False
        self._queue.put_nowait(message)
        return True

    async def get(self) -> Message:
        """The next message; raises `SubscriptionClosed` once closed."""
        if self.closed:
            raise SubscriptionClosed(self.close_reason or CLOSED)
        item = await self._queue.get()
        if isinstance(item, _Closed):
            raise SubscriptionClosed(self.close_reason or CLOSED)
        self.delivered += 1
        return item

    def drain(self) -> list[Message]:
        """Take every pending message without waiting (batching senders, tests)."""
        taken: list[Message] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, _Closed):
                self._queue.put_nowait(item)
                break
            taken.append(item)
        self.delivered += len(taken)
        return taken

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            try:
                yield await self.get()
            except SubscriptionClosed:
                return

    def on_close(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(reason)` when closed (at once if already closed)."""
        if self.closed:
            callback(self.close_reason or CLOSED)
            return lambda: None
        return self._on_close.add(callback)

    def close(self, reason: str = CLOSED) -> None:
        """Stop delivery: pending messages are discarded and a waiting `get()` wakes."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_CLOSED_SENTINEL)
        self._broadcaster._forget(self)
        for callback in self._on_close:
            try:
                callback(reason)
            except Exception:
                log.exception("subscription close callback failed")
        self._on_close = Listeners()  # told once


class Broadcaster:
    """Fan one stream of messages out to many subscribers without awaiting any."""

    def __init__(self, *, maxsize: int = DEFAULT_MAXSIZE, name: str = "broadcast") -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.name = name
        self._everything: set[Subscription] = set()
        self._by_topic: dict[str, set[Subscription]] = {}
        self.published = 0
        self.closed: Counter[str] = Counter()  # subscriptions closed, by reason

    @property
    def dropped(self) -> int:
        """Clients dropped for falling behind (their queue was full)."""
        return self.closed[SLOW_CLIENT]

    @property
    def subscribers(self) -> int:
        by_topic: set[Subscription] = set()
        for subs in self._by_topic.values():
            by_topic |= subs
        return len(self._everything) + len(by_topic)

    def subscribe(
        self,
        topics: Iterable[str] | str | None = None,
        *,
        maxsize: int | None = None,
        label: str = "",
    ) -> Subscription:
        """A new subscription to `topics` (None: every message)."""
        if isinstance(topics, str):
            topics = [topics]
        wanted = None if topics is None else frozenset(topics)
        sub = Subscription(self, wanted, maxsize or self.maxsize, label)
        if wanted is None:
            self._everything.add(sub)
        else:
            for topic in wanted:
                self._by_topic.setdefault(topic, set()).add(sub)
        return sub

    def publish(self, message: Message, topic: str | None = None) -> int:
        """Queue `message` for every matching subscriber; returns how many got it.

        Never awaits: a subscriber whose queue is full is dropped instead.
        """
        self.published += 1
        if topic is None:
            targets: set[Subscription] = set(self._everything)
            for subs in self._by_topic.values():
                targets |= subs
        else:
            targets = self._everything | self._by_topic.get(topic, set())
        return sum(1 for sub in targets if sub.offer(message))

    def close_all(self, reason: str = SHUTDOWN) -> None:
        for sub in list(self._everything) + [s for v in self._by_topic.values() for s in v]:
            sub.close(reason)

    def stats(self) -> dict[str, object]:
        return {
            "subscribers": self.subscribers,
            "published": self.published,
            "dropped": self.dropped,
            "closed": dict(self.closed),
        }

    def _forget(self, sub: Subscription) -> None:
        self._everything.discard(sub)
        for topic in sub.topics or ():
            subs = self._by_topic.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._by_topic[topic]
        self.closed[sub.close_reason or CLOSED] += 1
