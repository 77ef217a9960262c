"""Typed app and request keys that the asr feature publishes to the web layer."""

from __future__ import annotations

from aiohttp import web

from callcenter.asr.policy import TranscriptPolicy
from callcenter.asr.service import Transcriber
from callcenter.asr.store import AsrRepository

TRANSCRIBER = web.AppKey("transcriber", Transcriber)

ASR_REPOSITORY = web.AppKey("asr_repository", AsrRepository)

# Filled in by the setups of the features after asr (QA): set up before the app starts.
TRANSCRIPT_POLICY = web.AppKey("transcript_policy", TranscriptPolicy)
