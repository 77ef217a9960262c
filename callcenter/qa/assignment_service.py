"""Assigning samples to inspectors: by hand (several: calibration) or round-robin by load."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from callcenter.config import QaConfig
from callcenter.kernel.clock import Clock
from callcenter.kernel.errors import Kind
from callcenter.kernel.roles import Principal, Role
from callcenter.qa.assignment import AssignmentError, assign_balanced
from callcenter.qa.assignment_store import AssignmentStore
from callcenter.qa.errors import QaError
from callcenter.qa.model import Assignment
from callcenter.qa.service import DAY, InspectorSource, find_sample

log = logging.getLogger(__name__)


class AssignmentService:
    def __init__(
        self,
        store: AssignmentStore,
        settings: QaConfig,
        *,
        inspectors: InspectorSource | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self._inspectors = inspectors
        self._clock = clock

    async def is_assigned(self, inspector: str, linkedid: str, user_id: int | None = None) -> bool:
        """Whether the call is sampled and assigned to this inspector (by name or user id)."""
        return await self.store.is_assigned(inspector, linkedid, user_id)

    async def check_transcript_reader(self, who: Principal, linkedid: str) -> None:
        """Inspectors read a transcript only of a call sampled and assigned to them, the
        recordings' rule; asr applies it to every transcript read (QA's setup hands it in)."""
        if who.role is not Role.QA:
            return
        if not await self.is_assigned(who.username, linkedid, who.user_id):
            raise QaError(
                Kind.FORBIDDEN,
                "not-assigned",
                "inspectors may only read calls sampled and assigned to them",
                linkedid=linkedid,
            )

    async def inspectors(self) -> dict[str, int | None]:
        found: dict[str, int | None] = dict.fromkeys(self.settings.inspectors)
        if self._inspectors is not None:
            found.update(await self._inspectors())
        return found

    async def auto_assign(
        self, sample_ids: Sequence[int], *, by: str, required: bool = True
    ) -> dict[int, str]:
        """Round-robin by load over the inspectors; with none and not `required`, leave them."""
        inspectors = await self.inspectors()
        if not inspectors and not required:
            log.warning("no QA inspector to assign %d samples to", len(sample_ids))
            return {}
        try:
            plan = assign_balanced(sample_ids, list(inspectors), await self.store.open_load())
        except AssignmentError as exc:
            raise QaError(Kind.CONFLICT, exc.error_id, exc.message, **exc.details) from None
        due = self._clock() + self.settings.due_days * DAY
        for sample_id, inspector in plan.items():
            await self.store.assign(
                sample_id,
                [inspector],
                due_at=due,
                at=self._clock(),
                by=by,
                user_ids={k: v for k, v in inspectors.items() if v is not None},
            )
        return plan

    async def assign(
        self,
        sample_id: int,
        inspectors: object,
        *,
        due_at: float | None,
        by: str,
        check_known: bool = True,
    ) -> list[Assignment]:
        """Assign named inspectors (several: calibration); unknown names are refused."""
        sample = await find_sample(self.store, sample_id)
        if (
            not isinstance(inspectors, list)
            or not inspectors
            or not all(isinstance(i, str) and i.strip() for i in inspectors)
        ):
            raise QaError(
                Kind.INVALID,
                "inspectors-invalid",
                "inspectors must be a non-empty list of usernames",
            )
        names = list(dict.fromkeys(i.strip() for i in inspectors))
        known = await self.inspectors()
        if check_known:
            unknown = [n for n in names if n not in known]
            if unknown:
                raise QaError(
                    Kind.INVALID,
                    "inspector-unknown",
                    f"not QA inspectors: {unknown}",
                    unknown=unknown,
                    inspectors=sorted(known),
                )
        now = self._clock()
        due = now + self.settings.due_days * DAY if due_at is None else due_at
        if due <= now:
            raise QaError(
                Kind.INVALID, "due-date-past", "the due date must be in the future", due_at=due
            )
        return await self.store.assign(
            sample.id,
            names,
            due_at=due,
            at=now,
            by=by,
            user_ids={k: v for k, v in known.items() if v is not None},
        )
