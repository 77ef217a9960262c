"""Which calls a reader may see: the row rule's decisions, without a database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.calls.scope import CallScope, Review
from callcenter.calls.store import CallRepository
from callcenter.calls.tables import calls_table
from callcenter.kernel.roles import Principal, Role

LINKEDID = calls_table.c.linkedid
RECORD = {"linkedid": "1.1", "caller_number": "13800138000", "caller_name": "Ada", "notes": []}


def _sql(condition: sa.ColumnElement[bool]) -> str:
    return str(condition.compile(compile_kwargs={"literal_binds": True}))


def _scope() -> tuple[CallScope, list[str]]:
    asked: list[str] = []

    def handled_by(linkedid: sa.ColumnElement[str], staff_no: str) -> sa.ColumnElement[bool]:
        asked.append(staff_no)
        return linkedid == f"handled-by-{staff_no}"

    repository = CallRepository(async_sessionmaker[AsyncSession]())
    repository.set_handled_by(handled_by)
    return CallScope(repository), asked


def _assigned(linkedid: sa.ColumnElement[str], who: Principal) -> sa.ColumnElement[bool]:
    return linkedid == f"assigned-to-{who.username}"


def _mask(record: Any) -> dict[str, Any]:
    return {**record, "caller_number": "138****8000"}


def test_managers_see_every_call_unmasked() -> None:
    scope, _ = _scope()
    for role in (Role.SUPERVISOR, Role.ADMIN):
        who = Principal("m", role)
        assert scope.where(who) is None
        assert scope.present(who, RECORD) == RECORD


def test_an_agent_sees_the_calls_it_handled_and_an_agent_without_staff_number_none() -> None:
    scope, asked = _scope()
    where = scope.where(Principal("a", Role.AGENT, staff_no="1001"))
    assert where is not None and "handled-by-1001" in _sql(where(LINKEDID))
    nobody = scope.where(Principal("b", Role.AGENT))
    assert nobody is not None and "'handled-by-'" in _sql(nobody(LINKEDID))
    assert asked == ["1001", ""]  # the rule asked for staff number "", which owns no call
    assert scope.present(Principal("a", Role.AGENT, staff_no="1001"), RECORD) == RECORD


def test_an_inspector_sees_nothing_until_qa_hands_in_its_rule_then_assigned_and_masked() -> None:
    scope, _ = _scope()
    qa = Principal("qa1", Role.QA)
    closed = scope.where(qa)
    assert closed is not None and _sql(closed(LINKEDID)) in {"false", "0 = 1"}
    shown = scope.present(qa, RECORD)  # fail closed: no number, no name
    assert shown["caller_number"] is None and shown["caller_name"] is None
    remove = scope.set_review(Review(_assigned, _mask))
    where = scope.where(qa)
    assert where is not None and "assigned-to-qa1" in _sql(where(LINKEDID))
    assert scope.present(qa, RECORD)["caller_number"] == "138****8000"
    # compliance: the same rule under its own resource; agents have no rows there.
    facts = scope.where(Principal("a", Role.AGENT, staff_no="1001"), "compliance")
    assert facts is not None and _sql(facts(LINKEDID)) in {"false", "0 = 1"}
    remove()
    gone = scope.where(qa)
    assert gone is not None and _sql(gone(LINKEDID)) in {"false", "0 = 1"}
