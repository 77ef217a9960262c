"""Typed app and request keys that the compliance feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.compliance.facts import ComplianceSink
from callcenter.compliance.store import ComplianceRepository

# Per-call compliance facts (dead air, hung up first): listeners may attach.
COMPLIANCE = web.AppKey("compliance", ComplianceSink)

COMPLIANCE_REPOSITORY = web.AppKey("compliance_repository", ComplianceRepository)
