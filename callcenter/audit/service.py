"""The audit log as other features use it: write an entry, search the entries.

Its store is all it needs today (an append-only table), so the service is the
store under its public name; callers never import `audit.store`.
"""

from __future__ import annotations

from callcenter.audit.store import AuditRepository


class AuditLog(AuditRepository):
    """`record` raises when the entry cannot be written: callers refuse what cannot be audited."""
