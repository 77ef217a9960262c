"""Typed app keys for the resources every feature shares: config, supervisor, AMI, FastAGI."""

from __future__ import annotations

from aiohttp import web

from callcenter.agi.fastagi import FastAgiServer
from callcenter.ami.client import AmiClient
from callcenter.config import Config
from callcenter.kernel.supervisor import TaskSupervisor

CONFIG = web.AppKey("config", Config)


SUPERVISOR = web.AppKey("supervisor", TaskSupervisor)


AMI = web.AppKey("ami", AmiClient)


AGI = web.AppKey("agi", FastAgiServer)

