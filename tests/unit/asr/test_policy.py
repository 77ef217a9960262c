"""The transcript policy: read checks handed in by the features above asr, and removed."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.asr.policy import TranscriptPolicy
from callcenter.kernel.errors import DomainError, Kind
from callcenter.kernel.roles import Principal, Role

INSPECTOR = Principal("qa1", Role.QA)


async def test_given_no_checks_when_a_supervisor_reads_then_the_route_decides() -> None:
    await TranscriptPolicy().check_reader(Principal("sup", Role.SUPERVISOR), "1763000001.1")


async def test_a_check_refuses_until_it_is_removed() -> None:
    policy = TranscriptPolicy()
    asked: list[tuple[str, str]] = []

    async def only_assigned(who: Principal, linkedid: str) -> None:
        asked.append((who.username, linkedid))
        raise DomainError("not-assigned", "not yours", linkedid=linkedid)

    remove = policy.add_read_check(only_assigned)
    with pytest.raises(DomainError) as refused:
        await policy.check_reader(INSPECTOR, "1763000001.1")
    assert refused.value.error_id == "not-assigned"
    assert asked == [("qa1", "1763000001.1")]
    permissive = policy.add_read_check(lambda who, linkedid: asyncio.sleep(0))
    remove()
    remove()  # a second removal is harmless
    await policy.check_reader(INSPECTOR, "1763000001.1")  # only the permissive check left
    assert len(asked) == 1
    permissive()


async def test_given_no_qa_rule_when_an_inspector_reads_then_refused() -> None:
    """Fail closed: without QA's check (QA not set up) an inspector reads nothing."""
    with pytest.raises(DomainError) as refused:
        await TranscriptPolicy().check_reader(INSPECTOR, "1763000001.1")
    assert refused.value.error_id == "not-assigned"
    assert refused.value.kind is Kind.FORBIDDEN
