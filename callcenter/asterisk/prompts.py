"""Generated voice prompts, such as the staff-number announcement an agent's caller hears.

Rendered with espeak-ng and converted by sox to 8 kHz mono 16-bit PCM, the
format Asterisk plays without transcoding on narrowband calls. Rendering is
idempotent (a sidecar records what the WAV says) and atomic, so Asterisk never
plays a half-written file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

DEFAULT_TEMPLATE = "工號{staff_no}為您服務"
# Part of the sidecar: a change here makes every existing prompt stale.
_FORMAT = "8000Hz mono 16-bit PCM"
_SOX_FORMAT = ("-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer")
_TOOL_PACKAGES = {"espeak-ng": "espeak-ng", "sox": "sox"}
_TIMEOUT_S = 60
# Asterisk playback names: no spaces, slashes or dialplan separators.
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


class PromptError(RuntimeError):
    """A prompt could not be rendered; `error_id` says whether to install a tool or read stderr."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


def staff_number_text(staff_no: str, template: str = DEFAULT_TEMPLATE) -> str:
    """Staff numbers are announced digit by digit (工號 1 0 0 1, not "one thousand and one")."""
    spoken = " ".join(staff_no) if staff_no.isdigit() else staff_no
    return " ".join(template.format(staff_no=f" {spoken} ").split())


def playback_name(path: Path) -> str:
    """What Asterisk's Playback wants: the path without `.wav` (it picks the format itself)."""
    if path.suffix != ".wav":
        raise ValueError(f"{path}: not a .wav prompt")
    return str(path.with_suffix(""))


def render_prompt(text: str, out_dir: Path, *, name: str, voice: str = "cmn") -> Path:
    """Render `text` to `out_dir/<name>.wav`, unless the sidecar says it already is."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"prompt name {name!r}: use letters, digits, '.', '_' or '-'")
    if not text.strip():
        raise ValueError("prompt text is empty")
    wav = out_dir / f"{name}.wav"
    sidecar = out_dir / f"{name}.txt"
    wanted = f"voice: {voice}\nformat: {_FORMAT}\ntext: {text}\n"
    if wav.is_file() and _read_text(sidecar) == wanted:
        return wav
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{name}.") as tmp:
        raw, converted = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        # Text on stdin: a text starting with '-' cannot pass for an option.
        _run([espeak, "-v", voice, "-w", str(raw), "--stdin"], stdin=text)
        _run([sox, str(raw), *_SOX_FORMAT, str(converted)])
        # Sidecar first out, last in: a crash in between leaves none, so the next call re-renders.
        sidecar.unlink(missing_ok=True)
        os.replace(converted, wav)
        staged = Path(tmp) / "sidecar.txt"
        staged.write_text(wanted, encoding="utf-8")
        os.replace(staged, sidecar)
    return wav


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise PromptError(
            "prompt-tool-missing",
            f"{name} not found on PATH; install the Debian package {_TOOL_PACKAGES[name]}",
        )
    return found


def _run(argv: list[str], stdin: str = "") -> None:
    tool = Path(argv[0]).name
    try:
        done = subprocess.run(
            argv,
            input=stdin.encode("utf-8"),  # never the service's own stdin
            capture_output=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PromptError("prompt-failed", f"{tool} failed: {exc}") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        raise PromptError(
            "prompt-failed", f"{tool} exited with {done.returncode}: {stderr or '(no stderr)'}"
        )
