"""Command-line tools some tests need: missing ones fail the test (scripts/setup installs them)."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def tts_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run scripts/setup (Debian packages)")
