"""The audit log on the web side: every refused attempt at a route, written down.

Routes that reach a recording or what is made of one (the audio, the
transcript and its checks, the QA sample view) hand `audit_refusals` to the
route table (`access.route(..., on_refused=...)`). The access middleware tells
it of every 401/403 on the route: the policy's (anonymous, an agent) and the
handler's (an inspector the call is not assigned to), so no refusal path can
forget to audit. A refusal stands even when its entry cannot be written (the
failure is logged): nothing is served either way.
"""

from __future__ import annotations

import time

from aiohttp import web

from callcenter.accounts.http import client_ip
from callcenter.audit.domain import AuditEntry
from callcenter.audit.service import AuditLog
from callcenter.kernel.errors import DomainError
from callcenter.kernel.roles import Principal
from callcenter.kernel.web.access import RefusalHook
from callcenter.kernel.web.keys import SESSIONS

DENIED = "denied"
ANONYMOUS = "anonymous"
MAX_OBJECT_ID = 128  # the column's length; a longer path value is cut, not refused
# What a handler knows of the refused object and the caller must not see (the recording's
# call): set before raising, written into the entry only.
AUDIT_DETAILS = web.RequestKey("audit_details", dict[str, object])


def audit_refusals(object_type: str, id_param: str) -> RefusalHook:
    """A refusal hook writing `denied` entries for `object_type`, its id from the path."""

    async def record(request: web.Request, who: Principal | None, refusal: DomainError) -> None:
        details: dict[str, object] = {"error_id": refusal.error_id}
        linkedid = refusal.details.get("linkedid")
        if isinstance(linkedid, str):
            details["linkedid"] = linkedid
        details.update(request.get(AUDIT_DETAILS, {}))
        entry = AuditEntry(
            actor=ANONYMOUS if who is None else who.username,
            role=ANONYMOUS if who is None else who.role.value,
            action=DENIED,
            object_type=object_type,
            object_id=request.match_info.get(id_param, "")[:MAX_OBJECT_ID],
            at=time.time(),
            ip=client_ip(request),
            details=details,
        )
        await AuditLog(request.app[SESSIONS]).record(entry)

    return record
