"""A catalogued recording file and what its dialplan leg means to a listener."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The dialplan's segment legs (who's channel the file was taken on, or whose voice
# alone) -> what the listener hears: both parties, the agent alone, the caller alone.
LEG_OF_SOURCE = {
    "caller": "mixed",
    "agent": "mixed",
    "agent-voice": "agent",
    "customer-voice": "caller",
}
LEGS = ("mixed", "agent", "caller")


def leg_of(source: str) -> str:
    return LEG_OF_SOURCE.get(source, "mixed")


@dataclass(frozen=True)
class Recording:
    id: int | None
    linkedid: str
    uniqueid: str
    leg: str
    source: str
    path: str  # relative to the recordings directory
    duration_seconds: float | None
    size_bytes: int
    sha256: str
    sample_rate: int | None
    created_at: float
    deleted_at: float | None = None
    delete_reason: str | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "linkedid": self.linkedid,
            "leg": self.leg,
            "source": self.source,
            "duration": self.duration_seconds,
            "size": self.size_bytes,
            "sha256": self.sha256,
            "created_at": self.created_at,
            "deleted_at": self.deleted_at,
            "url": f"/api/recordings/{self.id}/audio",
        }
