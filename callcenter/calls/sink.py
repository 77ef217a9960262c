"""Where finished call records go: one record handed to several sinks in order."""

from __future__ import annotations

from collections.abc import Callable

from callcenter.calls.record import CallRecord
from callcenter.calls.service import RecordSink


class FanOut:
    """A `RecordSink` that hands each record to several sinks, in order.

    Every sink gets the record even if an earlier one raises; the first error
    is re-raised afterwards so the caller still sees it (a closed writer).
    """

    def __init__(self, *sinks: RecordSink) -> None:
        self._sinks: tuple[RecordSink, ...] = sinks

    def add(self, sink: RecordSink) -> Callable[[], None]:
        """Add a sink (wired later than the others); returns its removal."""
        self._sinks = (*self._sinks, sink)

        def remove() -> None:
            self._sinks = tuple(s for s in self._sinks if s is not sink)

        return remove

    def submit(self, record: CallRecord) -> None:
        error: Exception | None = None
        for sink in self._sinks:
            try:
                sink.submit(record)
            except Exception as exc:
                if error is None:
                    error = exc
        if error is not None:
            raise error
