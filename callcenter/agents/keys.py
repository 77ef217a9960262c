"""Typed app and request keys that the agents feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.agents.provisioning import AgentProvisioning
from callcenter.agents.service import AgentService
from callcenter.agents.store import AgentRepository

AGENT_REPOSITORY = web.AppKey("agent_repository", AgentRepository)

PROVISIONING = web.AppKey("provisioning", AgentProvisioning)

# The agent board and everything that moves it (actions, offers, alerts, watchers).
AGENTS = web.AppKey("agents", AgentService)
