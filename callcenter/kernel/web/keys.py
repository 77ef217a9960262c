"""Typed app keys for what every feature shares: config, database sessions, tasks, AMI, FastAGI."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.agi.fastagi import FastAgiServer
from callcenter.ami.client import AmiClient
from callcenter.config import Config
from callcenter.kernel.supervisor import TaskSupervisor

CONFIG = web.AppKey("config", Config)
# One session factory over one engine: every feature's store is built on it.
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
SUPERVISOR = web.AppKey("supervisor", TaskSupervisor)
# Set by the calls feature (the AMI stream's first consumer); the others subscribe.
AMI = web.AppKey("ami", AmiClient)
# Set by the routing feature (it starts the server); callbacks add their handlers.
AGI = web.AppKey("agi", FastAgiServer)
