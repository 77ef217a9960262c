// The recording player with its leg switch and the transcript beside it. Words are
// buttons that seek the player to their start; the word being spoken is highlighted.
import { el, replace } from "./dom.js";
import { clock } from "./format.js";
import { label, t } from "./i18n.js";

const LINE_GAP = 1.5; // seconds of silence that start a new transcript line
const HOLD = 0.25; // a word stays highlighted this long after its end

function audioUrl(recording) {
  return recording.url || `/api/recordings/${recording.id}/audio`;
}

// The words heard on one leg: the mixed recording carries both speakers.
export function wordsFor(leg, transcript) {
  if (!transcript) return [];
  const speakers = leg === "mixed" ? Object.keys(transcript) : [leg];
  const words = speakers.flatMap((speaker) =>
    (transcript[speaker] || []).map((w) => ({
      word: w.word,
      start: Number(w.start),
      end: Number(w.end ?? w.start),
      speaker,
    })),
  );
  return words.sort((a, b) => a.start - b.start);
}

// Index of the word playing at `time`, or -1 (binary search on the start times).
export function wordAt(words, time) {
  let low = 0;
  let high = words.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (words[mid].start <= time) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found >= 0 && time <= words[found].end + HOLD ? found : -1;
}

// The transcript's word times count from the start of the agent channel's recordings
// (mixed, agent voice, customer voice: one MixMonitor). The caller channel's mixed
// recording starts at the call's arrival, earlier: its words are not in step.
export function onTranscriptClock(recording) {
  return recording.source !== "caller";
}

export function buildPlayer(recordings, transcript, asrMessage = null) {
  // The API's order: the agent channel's mixed recording first (the transcript's clock).
  const ordered = [...recordings];
  if (!ordered.length) {
    return {
      node: el("section", { className: "player" }, el("h3", {}, t("player.heading")), el("p", { className: "muted" }, t("player.none"))),
      stop: () => null,
      seek: () => {},
      resume: () => {},
    };
  }
  const audio = el("audio", { controls: true, preload: "metadata", id: "player" });
  const transcriptBox = el("div", { className: "transcript", id: "transcript", lang: "" });
  let words = [];
  let spans = [];
  let current = -1;
  let frame = 0;
  let inStep = true; // the playing recording runs on the transcript's clock

  function seek(time) {
    if (!inStep) {
      // Word times run on the agent channel's clock: go to a recording that keeps it.
      const index = ordered.findIndex(onTranscriptClock);
      if (index < 0) return;
      legSwitch.querySelectorAll("input[name=leg]")[index].checked = true;
      choose(ordered[index], false);
      audio.addEventListener(
        "loadedmetadata",
        () => {
          audio.currentTime = time;
          audio.play().catch(() => {});
        },
        { once: true },
      );
      return;
    }
    audio.currentTime = time;
    highlight();
    audio.play().catch(() => {});
  }

  function highlight() {
    const next = inStep ? wordAt(words, audio.currentTime) : -1;
    if (next === current) return;
    if (current >= 0) spans[current].classList.remove("current");
    current = next;
    if (current >= 0) {
      spans[current].classList.add("current");
      spans[current].scrollIntoView({ block: "nearest" });
    }
  }

  function loop() {
    highlight();
    frame = audio.paused ? 0 : window.requestAnimationFrame(loop);
  }

  function showTranscript(leg) {
    words = wordsFor(leg, transcript);
    current = -1;
    if (!words.length) {
      spans = [];
      replace(
        transcriptBox,
        el("p", { className: "muted" }, t("transcript.none")),
        asrMessage ? el("p", { className: "muted asr-status" }, asrMessage) : null,
      );
      return;
    }
    const lines = [];
    let line = null;
    let previous = null;
    spans = words.map((w, index) => {
      if (!line || w.speaker !== previous.speaker || w.start - previous.end > LINE_GAP) {
        line = el(
          "p",
          { className: `line speaker-${w.speaker}` },
          el("span", { className: "who" }, `${label("speaker", w.speaker)} ${clock(w.start)}`),
        );
        lines.push(line);
      }
      previous = w;
      const span = el(
        "button",
        {
          type: "button",
          className: "word",
          title: `${clock(w.start)}`,
          dataset: { start: w.start, end: w.end, index },
          onclick: () => seek(w.start),
        },
        w.word,
      );
      line.append(span, " ");
      return span;
    });
    replace(transcriptBox, el("p", { className: "hint muted" }, t("transcript.hint")), lines);
  }

  function choose(recording, keepPlace) {
    const before = inStep;
    inStep = onTranscriptClock(recording);
    // A place on one clock means nothing on the other: start over when they differ.
    const same = keepPlace && before === inStep;
    const at = same ? audio.currentTime : 0;
    const playing = keepPlace && !audio.paused;
    audio.src = audioUrl(recording);
    audio.dataset.leg = recording.leg;
    audio.dataset.recordingId = recording.id;
    if (at > 0 || playing) {
      audio.addEventListener(
        "loadedmetadata",
        () => {
          audio.currentTime = Math.min(at, audio.duration || at);
          if (playing) audio.play().catch(() => {});
        },
        { once: true },
      );
    }
    showTranscript(recording.leg);
    if (!inStep && words.length) {
      transcriptBox.prepend(el("p", { className: "hint muted" }, t("transcript.otherClock")));
    }
  }

  const legCount = {};
  for (const r of ordered) legCount[r.leg] = (legCount[r.leg] || 0) + 1;
  const legSwitch = el(
    "fieldset",
    { className: "legs" },
    el("legend", {}, t("player.leg")),
    ordered.map((recording, index) =>
      el(
        "label",
        {},
        el("input", {
          type: "radio",
          name: "leg",
          value: recording.leg,
          checked: index === 0,
          dataset: { recordingId: recording.id },
          onchange: () => choose(recording, true),
        }),
        " ",
        label("leg", recording.leg),
        legCount[recording.leg] > 1 && recording.source ? ` (${recording.source})` : "",
      ),
    ),
  );

  audio.addEventListener("play", () => {
    if (!frame) frame = window.requestAnimationFrame(loop);
  });
  audio.addEventListener("seeked", highlight);
  audio.addEventListener("timeupdate", highlight);
  choose(ordered[0], false);

  const node = el(
    "section",
    { className: "player" },
    el("h3", {}, t("player.heading")),
    legSwitch,
    audio,
    el("h3", {}, t("transcript.heading")),
    transcriptBox,
  );
  // Stops playing; returns where it was, for a redraw of the same sample.
  const stop = () => {
    const place = { time: audio.currentTime, recordingId: audio.dataset.recordingId };
    if (frame) window.cancelAnimationFrame(frame);
    frame = 0;
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
    return place;
  };
  // Back where a previous drawing of this sample was (paused: the inspector resumes).
  const resume = (place) => {
    const index = ordered.findIndex((r) => String(r.id) === String(place.recordingId));
    if (index < 0) return;
    legSwitch.querySelectorAll("input[name=leg]")[index].checked = true;
    choose(ordered[index], false);
    audio.addEventListener("loadedmetadata", () => (audio.currentTime = place.time), { once: true });
  };
  return { node, stop, seek, resume };
}
