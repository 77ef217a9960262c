"""The service token the CLI uses to reach the running service as admin.

`CALLCENTER_API_TOKEN` sets it. Without it, the service makes one at its first
start in the state directory (mode 0600), and the CLI on the same machine reads
it from there: a newcomer's `callcenter agent list` works with no setup, and
nobody else on the machine can read it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from callcenter.config import Config

FILE_NAME = "api-token"


def token_path(config: Config) -> Path:
    return config.state_dir / FILE_NAME


def service_token(config: Config, *, create: bool) -> str | None:
    if config.web.api_token:
        return config.web.api_token
    path = token_path(config)
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        if not create:
            return None
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token
