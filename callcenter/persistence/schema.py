"""The whole schema: `Base.metadata` with every area's tables imported.

Alembic's env and the migration-drift test read the metadata from here, so a
table defined in an area's own models module is never missed.
"""

from __future__ import annotations

from callcenter.persistence import (
    accounts_models,  # noqa: F401  (users, sessions)
    asr_models,  # noqa: F401  (transcripts, script checks)
    panel_models,  # noqa: F401  (contacts)
    qa_models,  # noqa: F401  (QA, recordings, audit)
)
from callcenter.persistence.models import Base

__all__ = ["Base"]
