"""The whole schema: `Base.metadata` with every feature's tables imported.

Alembic's env and the migration-drift test read the metadata from here, so a
table defined in a feature's own `tables` module is never missed. Like
`app.py`, this module lists the features; nothing in a feature imports it.
"""

from __future__ import annotations

from callcenter.accounts import tables as accounts_tables  # noqa: F401  (users, sessions)
from callcenter.agents import tables as agents_tables  # noqa: F401  (agents, wrap-ups, cases)
from callcenter.asr import tables as asr_tables  # noqa: F401  (transcripts, script checks)
from callcenter.audit import tables as audit_tables  # noqa: F401  (audit log)
from callcenter.callbacks import tables as callbacks_tables  # noqa: F401  (callbacks, surveys)
from callcenter.calls import tables as calls_tables  # noqa: F401  (calls, recording segments)
from callcenter.compliance import tables as compliance_tables  # noqa: F401  (call compliance)
from callcenter.kernel.db import Base
from callcenter.panel import tables as panel_tables  # noqa: F401  (contacts)
from callcenter.qa import tables as qa_tables  # noqa: F401  (draws, samples, evaluations)
from callcenter.recordings import tables as recordings_tables  # noqa: F401  (recordings)

__all__ = ["Base"]
