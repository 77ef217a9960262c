"""The dashboard's few database reads, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agents.store import AgentRepository
from callcenter.compliance.domain import Compliance
from callcenter.compliance.store import ComplianceRepository
from callcenter.dashboard.store import DashboardQueries

NOW = 1_800_000_000.0


@pytest.fixture
def stores(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[AgentRepository, DashboardQueries]:
    return AgentRepository(sessions), DashboardQueries(sessions)


@pytest.fixture
def compliance(sessions: async_sessionmaker[AsyncSession]) -> ComplianceRepository:
    return ComplianceRepository(sessions)


def _facts(linkedid: str, flags: tuple[str, ...], staff_no: str | None = "1001") -> Compliance:
    return Compliance(linkedid, staff_no, NOW - 100, 4.2, False, True, flags)


async def test_open_complaints_only(stores: tuple[AgentRepository, DashboardQueries]) -> None:
    agents, queries = stores
    due = await agents.open_case("complaint", "2001", "1001", "late parcel", NOW, NOW + 48 * 3600)
    await agents.open_case("inquiry", "2002", "1002", "not a complaint", NOW, None)
    (found,) = await queries.open_complaints()
    assert (found.id, found.owner, found.caller_number) == (due.id, "1001", "2001")
    assert found.opened_at == pytest.approx(NOW) and found.reply_due_at == pytest.approx(
        NOW + 48 * 3600
    )


async def test_compliance_flags_since(
    stores: tuple[AgentRepository, DashboardQueries], compliance: ComplianceRepository
) -> None:
    _, queries = stores
    await compliance.save(_facts("old", ("dead-air",)), NOW - 2 * 86400)
    await compliance.save(_facts("clean", ()), NOW - 60)
    await compliance.save(_facts("flagged", ("dead-air", "agent-hung-up-first")), NOW - 30)
    await compliance.save(_facts("nobody", ("dead-air",), staff_no=None), NOW - 20)
    rows = await queries.compliance_since(NOW - 86400)
    assert [(r.linkedid, r.staff_no, r.flags) for r in rows] == [
        ("flagged", "1001", ("dead-air", "agent-hung-up-first"))
    ]
    assert rows[0].measured_at == pytest.approx(NOW - 30)
