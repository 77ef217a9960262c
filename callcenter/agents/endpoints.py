"""Agents' PJSIP endpoints, rendered from the database into the running Asterisk.

Adding an agent writes `pjsip_agents.conf` (in the instance's lib directory,
which `pjsip.conf` includes and which survives config re-renders) and reloads
res_pjsip; no hand-edited configuration. Endpoints the versioned
`dialplans/pjsip.conf` already defines (the demo agents) are left to it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from callcenter.agents.domain import Agent

AGENTS_FILE = "pjsip_agents.conf"
_SECTION = re.compile(r"^\[([^\]]+)\]\((?:agent|caller)-endpoint\)", re.MULTILINE)


def static_endpoints(pjsip_conf: str) -> set[str]:
    return set(_SECTION.findall(pjsip_conf))


def render_endpoints(agents: Iterable[Agent], skip: set[str]) -> str:
    """The PJSIP sections for `agents` (templates from pjsip.conf), sorted for stable output."""
    lines = ["; Generated from the agents table by callcenter; do not edit.", ""]
    for agent in sorted(agents, key=lambda a: a.endpoint):
        if agent.endpoint in skip:
            continue
        e = agent.endpoint
        lines += [
            f"; agent {agent.staff_no}",
            f"[{e}](agent-endpoint)",
            f"auth = {e}",
            f"aors = {e}",
            f"[{e}](auth-base)",
            f"username = {e}",
            f"[{e}](aor-base)",
            "",
        ]
    return "\n".join(lines)


def write_endpoints(config_dir: Path, lib_dir: Path, agents: Iterable[Agent]) -> bool:
    """Write the file if its content changed; True when Asterisk needs a reload."""
    pjsip = config_dir / "pjsip.conf"
    skip = static_endpoints(pjsip.read_text()) if pjsip.is_file() else set()
    text = render_endpoints(agents, skip)
    target = lib_dir / AGENTS_FILE
    if target.is_file() and target.read_text() == text:
        return False
    lib_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    # Asterisk's config is private like the rest of the instance (issue 19: file modes).
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    tmp.replace(target)
    return True
