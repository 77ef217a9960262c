"""The audit log: who did what to which object, when and from where.

Written for every recording play or download (issue 5) and transcript export;
other features write and read it through `callcenter.audit.service.AuditLog`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    role: str
    action: str  # "play", "download", "denied", ...
    object_type: str  # "recording", ...
    object_id: str
    at: float
    ip: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "role": self.role,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "ip": self.ip,
            "details": self.details,
        }
