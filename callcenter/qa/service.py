"""What the four QA services share: injected sources, the month check, the sample lookup.

The services (`draw_service`, `assignment_service`, `evaluation_service`,
`report_service`) do the I/O (stores, the clock, the seed source); every
decision is made by the pure modules (`sampling`, `assignment`, `scoring`,
`reports`). Errors are `QaError`s with a stable id; the web layer maps them
to HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from callcenter.kernel.errors import Kind
from callcenter.qa.errors import QaError
from callcenter.qa.model import Sample
from callcenter.qa.sampling import SamplingError, parse_month
from callcenter.qa.store import QaStore

DAY = 86400.0

# Inspectors by name -> their user id (None: named in the configuration only).
InspectorSource = Callable[[], Awaitable[dict[str, int | None]]]
# linkedids -> the automatic checks each call failed (the ASR checks), when known.
CheckSource = Callable[[Sequence[str]], Awaitable[dict[str, tuple[str, ...]]]]


async def no_checks(linkedids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    return {}


def sampling_error(exc: SamplingError) -> QaError:
    return QaError(Kind.INVALID, exc.error_id, exc.message, **exc.details)


def check_month(month: str) -> None:
    """Refuse a malformed YYYY-MM before any query runs."""
    try:
        parse_month(month)
    except SamplingError as exc:
        raise sampling_error(exc) from None


async def find_sample(store: QaStore, sample_id: int) -> Sample:
    sample = await store.get_sample(sample_id)
    if sample is None:
        raise QaError(
            Kind.NOT_FOUND, "sample-not-found", f"no sample {sample_id}", sample_id=sample_id
        )
    return sample
