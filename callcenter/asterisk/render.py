"""Render the versioned `dialplans/` templates into one instance's config directory.

Placeholders are `@NAME@`: Asterisk itself uses `${...}`, so `string.Template`
would fight the dialplan. An unknown placeholder is an error, not an empty
string, so a typo in a template fails at render time instead of in a call.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from callcenter.asterisk.instance import AsteriskRuntimeError, Instance
from callcenter.asterisk.prompts import PromptError, render_prompt
from callcenter.config import (
    DEV_AMI_SECRET,
    DEV_SIP_PASSWORD,
    AmiConfig,
    AsteriskConfig,
    CallbackConfig,
    ConfigError,
    RingConfig,
    RouterConfig,
)
from callcenter.kernel.shifts import parse_shifts

log = logging.getLogger(__name__)
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "dialplans"
PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")
GREETING_TEXT = "Thank you for calling. All our agents are busy. Please hold."
CALLBACK_TEXT = "To be called back instead, press 1."
SURVEY_TEXT = "Were you satisfied? Press 1 for satisfied, 2 for neutral, 3 for not satisfied."
CLOSED_TEXT = "We are closed now. Please leave a message after the tone, and we will call you back."
# Where Debian puts Asterisk's modules and shared data (same in host and chroot).
DATA_DIR = "/usr/share/asterisk"
MODULE_GLOB = "usr/lib/*/asterisk/modules"


# The instance's own directories (all 0700).
INSTANCE_DIRS = ("etc", "run", "log", "spool", "lib", "recordings", "sounds")


def refuse_dev_secrets(
    asterisk: AsteriskConfig, ami: AmiConfig, router: RouterConfig | None
) -> None:
    """No rendered Asterisk accepts the secrets printed in this repository (a ConfigError)."""
    weak = [
        name
        for name, value in (
            ("CALLCENTER_AMI_SECRET", ami.secret),
            ("CALLCENTER_SIP_PASSWORD", asterisk.sip_password),
        )
        if value in (DEV_AMI_SECRET, DEV_SIP_PASSWORD)
    ]
    if router is None or not router.agi_key:
        weak.append("CALLCENTER_AGI_KEY")
    if weak:
        raise ConfigError(
            f"rendering Asterisk's config refuses the development default or missing "
            f"{', '.join(weak)}: unset the variable to use the per-install secrets file "
            "(made by `callcenter asterisk start`), or set a random value"
        )


def private_dir(path: Path) -> bool:
    """Create `path` 0700, or tighten it to 0700; True when it was open to others before."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
        return True
    return False


def tighten_tree(root: Path) -> int:
    """Take group and other bits off everything below `root`; returns how many changed.

    For an instance from before file modes: Asterisk wrote its logs and
    recordings 0644 in 0755 directories then. Symlinks are not followed.
    """
    changed = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            path = Path(dirpath) / name
            st = path.lstat()
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                path.chmod(stat.S_IMODE(st.st_mode) & 0o700)  # the owner's bits only
                changed += 1
    return changed


def render_text(template: str, values: Mapping[str, str], *, name: str = "<template>") -> str:
    """Replace every `@NAME@`; raise on a name that `values` lacks."""
    missing = sorted({m for m in PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise AsteriskRuntimeError(f"{name}: unknown placeholder(s) {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def template_values(
    asterisk: AsteriskConfig,
    ami: AmiConfig,
    ring: RingConfig,
    instance: Instance,
    *,
    modules_dir: str,
    greeting: str = "",
    moh_dir: str = "",
    router: RouterConfig | None = None,
    sounds: Mapping[str, str] | None = None,
    callbacks: CallbackConfig | None = None,
) -> dict[str, str]:
    """Everything the templates may reference, as in-Asterisk paths."""
    if not 0 < asterisk.rtp_start < asterisk.rtp_end < 65536:
        raise AsteriskRuntimeError(
            f"RTP range {asterisk.rtp_start}-{asterisk.rtp_end} is not a valid port range"
        )
    return {
        "INSTANCE_NAME": instance.name,
        "INSTANCE_DIR": str(instance.asterisk_root),
        "CONFIG_DIR": str(instance.inside("etc")),
        "RUN_DIR": str(instance.inside("run")),
        "LOG_DIR": str(instance.inside("log")),
        "SPOOL_DIR": str(instance.inside("spool")),
        "LIB_DIR": str(instance.inside("lib")),
        "RECORDINGS_DIR": str(instance.recordings_asterisk_dir),
        "SOUNDS_DIR": str(instance.sounds_asterisk_dir),
        "DATA_DIR": DATA_DIR,
        "MODULES_DIR": modules_dir,
        "AMI_PORT": str(ami.port),
        "AMI_USER": ami.username,
        "AMI_SECRET": ami.secret,
        "SIP_PORT": str(asterisk.sip_port),
        "SIP_PASSWORD": asterisk.sip_password,
        "RTP_START": str(asterisk.rtp_start),
        "RTP_END": str(asterisk.rtp_end),
        "INBOUND_NUMBER": asterisk.inbound_number,
        # Queue()'s timeout is whole seconds; round up so the budget is never cut short.
        "RING_BUDGET": str(max(1, math.ceil(ring.budget_seconds))),
        "RING_BUDGET_EXACT": f"{ring.budget_seconds:.3f}",
        # One ring: a fifth of the cadence on (1 s of 5 s, as in China), the rest off.
        "RING_ON_MS": str(round(ring.cadence_seconds * 200)),
        "RING_OFF_MS": str(round(ring.cadence_seconds * 800)),
        "GREETING": greeting,
        "MOH_DIR": moh_dir,
        "AGI_PORT": str((router or RouterConfig()).agi_port),
        # The FastAGI server refuses requests without it (callcenter.agi.fastagi).
        "AGI_KEY": (router or RouterConfig()).agi_key,
        "CALLER_ID": (callbacks or CallbackConfig()).caller_id,
        # ${CC_NUMBER} is the customer's (normalised) number, set by the backend.
        "CALLBACK_DIAL": (callbacks or CallbackConfig()).dial.replace("{number}", "${CC_NUMBER}"),
        "CALLBACK_RING": str((callbacks or CallbackConfig()).ring_seconds),
        "INBOUND_SKILL": (router or RouterConfig()).skill,
        "POSITION_EVERY": str((router or RouterConfig()).position_every),
        # Stock prompts stand in where the host could not generate ours.
        "CALLBACK_PROMPT": (sounds or {}).get("callback") or "beep",
        "CLOSED_PROMPT": (sounds or {}).get("closed") or "vm-intro",
        "SURVEY_PROMPT": (sounds or {}).get("survey") or "beep",
    }


def _modules_dir(instance: Instance) -> str:
    root = instance.chroot_dir or Path("/")
    found = sorted(root.glob(MODULE_GLOB))
    if not found:
        raise AsteriskRuntimeError(f"no Asterisk modules directory under {root}/{MODULE_GLOB}")
    return "/" + str(found[0].relative_to(root))


def closed_text(router: RouterConfig | None) -> str:
    """The after-hours announcement, with the opening hours when they are configured."""
    shifts = parse_shifts(router.shifts) if router is not None else ()
    if not shifts:
        return CLOSED_TEXT
    spans = sorted({(s.start, s.end) for s in shifts})
    hours = ", and ".join(f"{a.strftime('%H:%M')} to {b.strftime('%H:%M')}" for a, b in spans)
    return f"We are closed now. Our opening hours are {hours}. " + CLOSED_TEXT.split(". ", 1)[1]


def _make_sounds(
    instance: Instance, router: RouterConfig | None = None
) -> tuple[str, str, dict[str, str]]:
    """Greeting, hold music and prompts as in-Asterisk paths; "" where the host lacks the tools."""
    sounds = instance.sounds_host_dir
    (sounds / "moh").mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    texts = (
        ("greeting", GREETING_TEXT),
        ("callback", CALLBACK_TEXT),
        ("closed", closed_text(router)),
    )
    for name, text in texts:
        try:
            render_prompt(text, sounds, name=name, voice="en")
        except (PromptError, OSError) as exc:
            log.warning("prompt %s not generated (%s): a stock prompt stands in", name, exc)
            continue
        made[name] = str(instance.sounds_asterisk_dir / name)
    greeting = made.pop("greeting", "")
    prompts = made
    moh = ""
    tone = ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16"]
    synth = ["synth", "4", "sine", "440", "vol", "0.2"]
    if shutil.which("sox") is not None:
        out = sounds / "moh" / "tone.wav"
        if subprocess.run([*tone, str(out), *synth], capture_output=True).returncode == 0:
            moh = str(instance.sounds_asterisk_dir / "moh")
    return greeting, moh, prompts


def render(
    asterisk: AsteriskConfig,
    ami: AmiConfig,
    ring: RingConfig,
    instance: Instance,
    *,
    templates: Path = TEMPLATE_DIR,
    router: RouterConfig | None = None,
    callbacks: CallbackConfig | None = None,
) -> Path:
    """Write the instance's config (and its directories); return the config dir.

    The config dir is replaced as a whole, so a template removed from
    `dialplans/` does not linger in the instance. Everything is private
    (directories 0700, files 0600): the config holds the AMI secret, the SIP
    password and the AGI key, and the logs and recordings hold calls.
    """
    refuse_dev_secrets(asterisk, ami, router)
    private_dir(instance.root)
    for sub in INSTANCE_DIRS:
        # Logs are few files, so always; the recordings only once, when their directory
        # shows they were written before file modes (a walk of a year of calls costs).
        if private_dir(instance.host(sub)) or sub == "log":
            changed = tighten_tree(instance.host(sub))
            if changed:
                log.info("made %d files and directories in %s private", changed, sub)
    greeting, moh, prompts = _make_sounds(instance, router)
    tighten_tree(instance.sounds_host_dir)  # made by this process, whatever its umask
    values = template_values(
        asterisk,
        ami,
        ring,
        instance,
        modules_dir=_modules_dir(instance),
        greeting=greeting,
        moh_dir=moh,
        router=router,
        sounds=prompts,
        callbacks=callbacks,
    )
    staging = instance.root / ".etc.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    for template in sorted(templates.glob("*.conf")):
        text = render_text(template.read_text(), values, name=template.name)
        fd = os.open(staging / template.name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
    shutil.rmtree(instance.config_dir, ignore_errors=True)
    staging.rename(instance.config_dir)
    return instance.config_dir
