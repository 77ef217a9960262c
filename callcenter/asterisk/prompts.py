"""Voice prompts: generated ones (the staff-number announcement, the greeting) and
recordings uploaded for an agent.

Rendered with espeak-ng and converted by sox to 8 kHz mono 16-bit PCM, the
format Asterisk plays without transcoding on narrowband calls. Rendering is
idempotent (a sidecar records what the WAV says) and atomic, so Asterisk never
plays a half-written file.

The staff-number announcement plays between the agent's answer and the bridge:
every second of it is a second the caller waits with an agent on the line. So a
prompt can be rendered with a length limit (brisk rate, silence trimmed, sped up
with sox's pitch-keeping `tempo` as a last resort, refused beyond that), and an
uploaded recording is converted, trimmed and refused when still too long.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import ClassVar

from callcenter.kernel.errors import DomainError, Kind

# Short on purpose (see the module docstring): ~1.3 s at STAFF_RATE; the agent's own
# greeting says the rest ("您好,XX公司客服部,工號1001為您服務").
DEFAULT_TEMPLATE = "工號{staff_no}"
MAX_STAFF_PROMPT_SECONDS = 1.5
# espeak-ng words per minute; its default 175 took 3.1 s for "工號 1 0 0 1 為您服務".
STAFF_RATE = 230
# Beyond this speed-up, espeak-ng's Mandarin gets hard to follow: refuse instead.
MAX_TEMPO = 1.5
# An upload larger than this is no 1.5 s prompt (1.5 s of 48 kHz stereo float is 576 kB).
MAX_UPLOAD_BYTES = 1_048_576
# Part of the sidecar: a change here makes every existing prompt stale.
_FORMAT = "8000Hz mono 16-bit PCM"
_SOX_FORMAT = ("-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer")
# Leading and trailing silence off (below 1% for 50 ms): on a prompt it is only delay.
_TRIM = ("silence", "1", "0.05", "1%", "reverse", "silence", "1", "0.05", "1%", "reverse")
_TOOL_PACKAGES = {"espeak-ng": "espeak-ng", "sox": "sox"}
_TIMEOUT_S = 60
# Asterisk playback names: no spaces, slashes or dialplan separators.
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


class PromptError(DomainError, RuntimeError):
    """A prompt could not be made; `error_id` says whether to install a tool, read stderr,
    or fix the text or the recording."""

    _kinds: ClassVar[dict[str, Kind]] = {
        "prompt-tool-missing": Kind.UNAVAILABLE,
        "prompt-failed": Kind.UPSTREAM_FAILED,
    }

    @classmethod
    def kind_of(cls, error_id: str) -> Kind:
        # prompt-too-long, prompt-not-audio, prompt-empty, prompt-too-large: fix the input.
        return cls._kinds.get(error_id, Kind.INVALID)


def staff_number_text(staff_no: str, template: str = DEFAULT_TEMPLATE) -> str:
    """Staff numbers are announced digit by digit (工號 1 0 0 1, not "one thousand and one")."""
    spoken = " ".join(staff_no) if staff_no.isdigit() else staff_no
    return " ".join(template.format(staff_no=f" {spoken} ").split())


def playback_name(path: Path) -> str:
    """What Asterisk's Playback wants: the path without `.wav` (it picks the format itself)."""
    if path.suffix != ".wav":
        raise ValueError(f"{path}: not a .wav prompt")
    return str(path.with_suffix(""))


def render_prompt(
    text: str,
    out_dir: Path,
    *,
    name: str,
    voice: str = "cmn",
    rate: int | None = None,
    max_seconds: float | None = None,
) -> Path:
    """Render `text` to `out_dir/<name>.wav`, unless the sidecar says it already is.

    With `max_seconds`, silence is trimmed and speech longer than that is sped up (at
    most MAX_TEMPO times); still longer: `prompt-too-long`."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"prompt name {name!r}: use letters, digits, '.', '_' or '-'")
    if not text.strip():
        raise ValueError("prompt text is empty")
    wav = out_dir / f"{name}.wav"
    sidecar = out_dir / f"{name}.txt"
    wanted = f"voice: {voice}\nformat: {_FORMAT}\ntext: {text}\n"
    if rate is not None or max_seconds is not None:
        wanted += f"rate: {rate}\nmax seconds: {max_seconds}\ntrim: {' '.join(_TRIM)}\n"
    if wav.is_file() and _read_text(sidecar) == wanted:
        return wav
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{name}.") as tmp:
        raw, converted = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        speed = ["-s", str(rate)] if rate is not None else []
        # Text on stdin: a text starting with '-' cannot pass for an option.
        _run([espeak, "-v", voice, *speed, "-w", str(raw), "--stdin"], stdin=text)
        trim = _TRIM if max_seconds is not None else ()
        _run([sox, str(raw), *_SOX_FORMAT, str(converted), *trim])
        if max_seconds is not None:
            _fit(sox, converted, max_seconds, what=f"the prompt {text!r}")
        # Sidecar first out, last in: a crash in between leaves none, so the next call re-renders.
        sidecar.unlink(missing_ok=True)
        os.replace(converted, wav)
        staged = Path(tmp) / "sidecar.txt"
        staged.write_text(wanted, encoding="utf-8")
        os.replace(staged, sidecar)
    return wav


def convert_recording(data: bytes, out_dir: Path, *, name: str, max_seconds: float) -> float:
    """Store an uploaded WAV as `out_dir/<name>.wav` in Asterisk's format, leading and
    trailing silence trimmed; its length in seconds. Refused (nothing written) when it
    is not a readable WAV, silent, or longer than `max_seconds` once trimmed."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"prompt name {name!r}: use letters, digits, '.', '_' or '-'")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PromptError(
            "prompt-too-large",
            f"the recording is {len(data)} bytes; a {max_seconds:g} s prompt needs far less"
            f" than {MAX_UPLOAD_BYTES}",
            bytes=len(data),
        )
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise PromptError("prompt-not-audio", "the body is not a WAV file (RIFF/WAVE header)")
    sox = _tool("sox")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{name}.") as tmp:
        upload, converted = Path(tmp) / "upload.wav", Path(tmp) / "out.wav"
        upload.write_bytes(data)
        try:
            _run([sox, "-t", "wav", str(upload), *_SOX_FORMAT, str(converted), *_TRIM])
        except PromptError as exc:
            raise PromptError("prompt-not-audio", f"the WAV could not be read: {exc}") from exc
        seconds = wav_seconds(converted)
        if seconds == 0.0:
            raise PromptError("prompt-empty", "the recording is silence only")
        if seconds > max_seconds:
            raise PromptError(
                "prompt-too-long",
                f"the recording lasts {seconds:.2f} s without its leading and trailing"
                f" silence; the announcement may last at most {max_seconds:g} s",
                seconds=round(seconds, 3),
                max_seconds=max_seconds,
            )
        os.replace(converted, out_dir / f"{name}.wav")
    return seconds


def wav_seconds(path: Path) -> float:
    """Length of a PCM WAV, from its header."""
    with wave.open(str(path), "rb") as reader:
        return reader.getnframes() / reader.getframerate()


def _fit(sox: str, wav: Path, max_seconds: float, *, what: str) -> None:
    """Speed `wav` up (pitch kept) until it lasts at most `max_seconds`, or refuse."""
    seconds = wav_seconds(wav)
    if seconds <= max_seconds:
        return
    # A hair of headroom: tempo's output length is not exact to the sample.
    tempo = seconds / (max_seconds - 0.02)
    if tempo > MAX_TEMPO:
        raise PromptError(
            "prompt-too-long",
            f"{what} lasts {seconds:.2f} s; even {MAX_TEMPO:g}x faster it would exceed"
            f" {max_seconds:g} s: shorten the text or upload a recording",
            seconds=round(seconds, 3),
            max_seconds=max_seconds,
        )
    faster = wav.with_name("faster.wav")
    _run([sox, str(wav), str(faster), "tempo", "-s", f"{tempo:.3f}", "trim", "0", f"{max_seconds}"])
    os.replace(faster, wav)


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
