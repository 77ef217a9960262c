// The live supervisor dashboard: one WebSocket (/ws/dashboard) sends the snapshot, then
// every update; the page redraws from each snapshot and ticks the clocks in between.
// No framework, no build step; labels in zh-CN and English; the chart is inline SVG.
"use strict";
(() => {
  const root = document.getElementById("dash");
  const config = JSON.parse(root.dataset.config || "{}");
  const en = (config.lang || cc.lang()) === "en";
  const SVG = "http://www.w3.org/2000/svg";

  const L = en ? {
    center: "Whole center", queue: "Queue", waiting: "Waiting", longest: "Longest wait",
    talking: "On call", held: "Held by system", agentsTitle: "Agents", state: "State",
    inState: "In state", handled: "Handled (24 h)", aht: "AHT", flags: "Flags today",
    actions: "Actions", win30: "Last 30 min", win24: "Last 24 h",
    sl: "Service level", slOffered: "SL (offered)", abandon: "Abandon rate", asa: "ASA",
    byAgent: "By agent", bySystem: "By system", offered: "Offered", handledN: "Handled",
    abandoned: "Abandoned", callbacks: "Callback requests", cbPending: "Callbacks pending",
    cbOverdue: "overdue", cases: "Complaints near deadline", caller: "Caller",
    wait: "Wait", agent: "Agent", ringing: "ringing", chart: "Service level and volume by hour",
    waitingCalls: "Calls waiting", activeCalls: "Calls in progress", none: "none",
    listen: "Listen", whisper: "Whisper", barge: "Barge", pause: "Pause", logout: "Log out",
    myPhone: "My phone (endpoint)", due: "Due in", overdue: "overdue", owner: "Owner",
    live: "live", offline: "reconnecting…", connecting: "connecting…",
    states: { available: "available", ringing: "ringing", on_call: "on call",
      wrap_up: "wrap-up", paused: "paused", logged_out: "logged out" },
  } : {
    center: "全中心", queue: "隊列", waiting: "等待中", longest: "最長等待",
    talking: "通話中", held: "系統保持", agentsTitle: "座席", state: "狀態",
    inState: "持續", handled: "接聽數(24小時)", aht: "平均處理時長", flags: "今日違規",
    actions: "操作", win30: "最近30分鐘", win24: "最近24小時",
    sl: "服務水平", slOffered: "服務水平(來電)", abandon: "放棄率", asa: "平均應答",
    byAgent: "座席接聽", bySystem: "系統接聽", offered: "來電", handledN: "接通",
    abandoned: "放棄", callbacks: "回撥請求", cbPending: "待回撥",
    cbOverdue: "逾期", cases: "臨近期限的投訴", caller: "來電號碼",
    wait: "等待", agent: "座席", ringing: "振鈴", chart: "每小時服務水平與來電量",
    waitingCalls: "等待中的來電", activeCalls: "進行中的通話", none: "無",
    listen: "監聽", whisper: "耳語", barge: "強插", pause: "暫停", logout: "簽出",
    myPhone: "我的話機(分機)", due: "剩餘", overdue: "已逾期", owner: "負責人",
    live: "即時", offline: "重新連線中…", connecting: "連線中…",
    states: { available: "空閒", ringing: "振鈴", on_call: "通話中",
      wrap_up: "話後處理", paused: "暫停", logged_out: "未簽入" },
  };

  let snap = null;
  let clockOffset = 0; // server time - local time, seconds

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  const now = () => Date.now() / 1000 + clockOffset;
  const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
  const secs = (v) => (v === null || v === undefined ? "–" : `${Number(v).toFixed(1)} s`);
  function dur(s) {
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`
      : `${m}:${String(r).padStart(2, "0")}`;
  }

  // -- layout -------------------------------------------------------------------------
  const status = document.getElementById("dash-status");
  const phone = el("input", { id: "dash-my-phone", class: "dash-phone", size: "8",
    value: localStorage.getItem("cc-dash-phone") || "", "aria-label": L.myPhone,
    placeholder: L.myPhone });
  phone.addEventListener("change", () => localStorage.setItem("cc-dash-phone", phone.value.trim()));
  const message = el("p", { id: "dash-message", class: "cc-error", role: "alert" });
  const kpis = el("section", { id: "dash-center", class: "dash-kpis" });
  const queues = el("section", { id: "dash-queues", class: "dash-queues" });
  const chart = el("section", { id: "dash-chart", class: "cc-card dash-chart" });
  const waitingTable = el("table", { id: "dash-waiting-calls", class: "dash-table" });
  const activeTable = el("table", { id: "dash-active-calls", class: "dash-table" });
  const agentsTable = el("table", { id: "dash-agents", class: "dash-table" });
  const casesList = el("ul", { id: "dash-cases", class: "dash-cases" });
  root.append(
    message, kpis,
    el("div", { class: "dash-grid" },
      el("section", { class: "cc-card" }, el("h2", { text: L.waitingCalls }), waitingTable),
      el("section", { class: "cc-card" }, el("h2", { text: L.activeCalls }), activeTable)),
    queues,
    el("section", { class: "cc-card" },
      el("h2", { text: L.agentsTitle }, " ", el("label", { class: "dash-phone-label" },
        L.myPhone, " ", phone)),
      agentsTable),
    chart,
    el("section", { class: "cc-card" }, el("h2", { text: L.cases }), casesList),
  );

  // -- drawing ------------------------------------------------------------------------
  function windowBlock(id, label, w) {
    const m = w.metrics, c = w.counts;
    const item = (key, name, value) =>
      el("div", { class: "dash-kpi", "data-key": key },
        el("span", { class: "dash-kpi-value", id: `${id}-${key}`, text: value }),
        el("span", { class: "dash-kpi-label", text: name }));
    return el("div", { class: "dash-window", id },
      el("h3", { text: label }),
      el("div", { class: "dash-kpi-row" },
        item("service_level", L.sl, pct(m.service_level)),
        item("service_level_offered", L.slOffered, pct(m.service_level_offered)),
        item("abandon_rate", L.abandon, pct(m.abandon_rate)),
        item("asa", L.asa, secs(m.asa)),
        item("aht", L.aht, secs(m.aht)),
        item("answered_by_agent", L.byAgent, String(c.answered_by_agent)),
        item("answered_by_system", L.bySystem, String(c.answered_by_system)),
        item("offered", L.offered, String(c.offered)),
        item("handled", L.handledN, String(c.handled)),
        item("abandoned", L.abandoned, String(c.abandoned)),
        item("callbacks", L.callbacks, String(c.callbacks))));
  }

  function agentCounts(a) {
    const parts = ["available", "ringing", "on_call", "wrap_up", "logged_out"]
      .map((s) => el("span", { class: `dash-state dash-state-${s}`, "data-state": s },
        `${L.states[s]} ${a[s]}`));
    const paused = Object.entries(a.paused || {})
      .map(([reason, n]) => el("span", { class: "dash-state dash-state-paused",
        "data-state": "paused", "data-reason": reason }, `${L.states.paused}(${reason}) ${n}`));
    return el("div", { class: "dash-states" }, ...parts, ...paused);
  }

  function drawCenter() {
    const c = snap.center;
    const cb = c.callbacks || {};
    kpis.replaceChildren(
      el("div", { class: "cc-card dash-now" },
        el("h2", { text: L.center }),
        el("div", { class: "dash-kpi-row" },
          el("div", { class: "dash-kpi dash-big" },
            el("span", { class: "dash-kpi-value", id: "dash-center-waiting", text: String(c.waiting) }),
            el("span", { class: "dash-kpi-label", text: L.waiting })),
          el("div", { class: "dash-kpi dash-big" },
            el("span", { class: "dash-kpi-value", id: "dash-center-longest", "data-since":
              c.longest_wait === null ? "" : String(snap.server_time - c.longest_wait),
              text: c.longest_wait === null ? "–" : dur(c.longest_wait) }),
            el("span", { class: "dash-kpi-label", text: L.longest })),
          el("div", { class: "dash-kpi" },
            el("span", { class: "dash-kpi-value", id: "dash-callbacks",
              text: cb.pending === null || cb.pending === undefined ? "–"
                : `${cb.pending} / ${cb.overdue} ${L.cbOverdue}` }),
            el("span", { class: "dash-kpi-label", text: L.cbPending })),
          el("div", { class: "dash-kpi" },
            el("span", { class: "dash-kpi-value", id: "dash-cases-count",
              text: String(c.cases_near_deadline) }),
            el("span", { class: "dash-kpi-label", text: L.cases }))),
        agentCounts(c.agents)),
      windowBlock("dash-30m", L.win30, c.windows["30m"]),
      windowBlock("dash-24h", L.win24, c.windows["24h"]),
    );
  }

  function drawQueues() {
    queues.replaceChildren(...snap.queues.map((q) => {
      const cb = q.callbacks;
      return el("article", { class: "cc-card dash-queue", "data-queue": q.queue },
        el("h2", { text: `${L.queue} ${q.queue}` }),
        el("p", {},
          el("strong", { class: "dash-queue-waiting", text: String(q.waiting) }), ` ${L.waiting}`,
          q.held_by_system ? ` (${L.held} ${q.held_by_system})` : "",
          ` · ${L.longest} `, el("span", { class: "dash-queue-longest",
            text: q.longest_wait === null ? "–" : dur(q.longest_wait) }),
          ` · ${L.talking} ${q.talking}`,
          cb ? ` · ${L.cbPending} ${cb.pending ?? "–"} / ${L.cbOverdue} ${cb.overdue ?? "–"}` : "",
          q.cases_near_deadline ? ` · ${L.cases} ${q.cases_near_deadline}` : ""),
        agentCounts(q.agents),
        windowBlock(`dash-q-${q.queue}-30m`, L.win30, q.windows["30m"]),
        windowBlock(`dash-q-${q.queue}-24h`, L.win24, q.windows["24h"]));
    }));
  }

  function callRows(table, calls, active) {
    const head = el("tr", {}, ...[L.caller, L.queue, active ? L.agent : L.state, L.wait]
      .map((t) => el("th", { text: t })));
    const rows = calls.map((c) => el("tr", { "data-linkedid": c.linkedid, "data-state": c.state },
      el("td", { text: c.caller_name ? `${c.caller_name} ${c.caller_number || ""}` : c.caller_number || "?" }),
      el("td", { text: c.queue }),
      el("td", { text: active ? c.agent : c.state === "held" ? L.held
        : c.ringing_agent ? `${L.ringing} ${c.ringing_agent}` : L.waiting }),
      el("td", { class: "dash-tick", "data-since": String(c.arrived_at),
        "data-until": c.answered_at === null ? "" : String(c.answered_at),
        text: dur(c.wait_seconds) })));
    table.replaceChildren(el("thead", {}, head),
      el("tbody", {}, ...(rows.length ? rows : [el("tr", { class: "dash-empty" },
        el("td", { colspan: "4", text: L.none }))])));
  }

  function actionButton(agent, action) {
    return el("button", { class: "cc-button cc-plain dash-action", type: "button",
      "data-action": action, text: L[action], onclick: () => act(agent, action) });
  }

  function drawAgents() {
    const head = el("tr", {}, ...[L.agent, L.state, L.inState, L.handled, L.aht, L.flags, L.actions]
      .map((t) => el("th", { text: t })));
    const rows = snap.agents.map((a) => {
      const state = L.states[a.state] + (a.pause_reason ? ` (${a.pause_reason})` : "")
        + (a.pending_pause ? ` → ${L.states.paused} (${a.pending_pause})` : "");
      const flags = Object.entries(a.flags).map(([f, n]) => `${f} ×${n}`).join(", ");
      const onCall = a.state === "on_call";
      const reasons = el("select", { class: "dash-reason", "aria-label": L.pause },
        ...(config.pauseReasons || []).map((r) => el("option", { value: r, text: r })));
      return el("tr", { "data-staff": a.staff_no, "data-state": a.state },
        el("td", { text: `${a.staff_no} ${a.name}` }),
        el("td", { class: `dash-state-${a.state}`, text: state }),
        el("td", { class: "dash-tick", "data-since": String(a.since), text: dur(a.in_state_seconds) }),
        el("td", { text: String(a.handled) }),
        el("td", { text: secs(a.aht) }),
        el("td", { class: flags ? "dash-flags" : "", text: flags || "–" }),
        el("td", { class: "dash-actions" },
          ...(onCall ? ["listen", "whisper", "barge"].map((x) => actionButton(a, x)) : []),
          a.state !== "logged_out" ? reasons : null,
          a.state !== "logged_out" ? el("button", { class: "cc-button cc-plain dash-action",
            type: "button", "data-action": "pause", text: L.pause,
            onclick: () => act(a, "pause", { reason: reasons.value }) }) : null,
          a.state !== "logged_out" && !onCall ? actionButton(a, "logout") : null));
    });
    agentsTable.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  }

  function drawCases() {
    const items = snap.cases.map((c) => el("li", { "data-case": String(c.id),
      class: c.overdue ? "dash-overdue" : "" },
      `#${c.id} ${c.caller_number} · ${L.owner} ${c.owner} · `,
      c.overdue ? L.overdue : `${L.due} ${dur(c.seconds_left)}`));
    casesList.replaceChildren(...(items.length ? items : [el("li", { text: L.none })]));
  }

  function drawChart() {
    const hours = snap.hourly;
    const W = 720, H = 200, pad = 28, bw = (W - 2 * pad) / Math.max(1, hours.length);
    const maxN = Math.max(1, ...hours.map((h) => h.offered));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("id", "dash-chart-svg");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", L.chart);
    const add = (name, attrs, text) => {
      const n = document.createElementNS(SVG, name);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      if (text !== undefined) n.textContent = text;
      svg.append(n);
      return n;
    };
    add("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#888" });
    const points = [];
    hours.forEach((h, i) => {
      const x = pad + i * bw;
      const bh = ((H - 2 * pad) * h.offered) / maxN;
      const bar = add("rect", { x: x + 2, y: H - pad - bh, width: Math.max(1, bw - 4), height: bh,
        fill: "#9cc3e6", class: "dash-bar-offered", "data-hour": h.hour, "data-offered": h.offered });
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = `${new Date(h.hour * 1000).getHours()}:00 · ${L.offered} ${h.offered}`
        + ` · ${L.sl} ${pct(h.service_level)}`;
      bar.append(tip);
      if (h.service_level !== null) {
        const cy = H - pad - (H - 2 * pad) * h.service_level;
        points.push(`${x + bw / 2},${cy}`);
        add("circle", { cx: x + bw / 2, cy, r: 3, fill: "#c0392b", class: "dash-sl-point" });
      }
      if (i % 3 === 0) {
        add("text", { x: x + bw / 2, y: H - 8, "font-size": 10, "text-anchor": "middle",
          fill: "#555" }, `${new Date(h.hour * 1000).getHours()}h`);
      }
    });
    if (points.length) {
      add("polyline", { points: points.join(" "), fill: "none", stroke: "#c0392b",
        "stroke-width": 2, class: "dash-sl-line" });
    }
    add("text", { x: pad, y: 14, "font-size": 11, fill: "#c0392b" }, `${L.sl} (0–100%)`);
    add("text", { x: W - pad, y: 14, "font-size": 11, fill: "#3b7bbf", "text-anchor": "end" },
      `${L.offered} (max ${maxN})`);
    chart.replaceChildren(el("h2", { text: L.chart }), svg);
  }

  function draw() {
    drawCenter();
    drawQueues();
    callRows(waitingTable, snap.waiting_calls, false);
    callRows(activeTable, snap.active_calls, true);
    drawAgents();
    drawCases();
    drawChart();
    root.dataset.seq = String(snap.seq);
  }

  function tick() {
    if (!snap) return;
    const t = now();
    for (const cell of root.querySelectorAll(".dash-tick")) {
      const since = Number(cell.dataset.since);
      const until = cell.dataset.until ? Number(cell.dataset.until) : t;
      if (since) cell.textContent = dur(until - since);
    }
    const longest = document.getElementById("dash-center-longest");
    if (longest && longest.dataset.since) longest.textContent = dur(t - Number(longest.dataset.since));
  }
  setInterval(tick, 1000);

  // -- actions ------------------------------------------------------------------------
  async function act(agent, action, extra) {
    message.textContent = "";
    const body = { ...(extra || {}) };
    if (["listen", "whisper", "barge"].includes(action)) body.endpoint = phone.value.trim();
    try {
      await cc.api("POST", `/api/dashboard/agents/${encodeURIComponent(agent.staff_no)}/${action}`, body);
    } catch (err) {
      message.textContent = `${L[action]} ${agent.staff_no}: ${err.message} (${err.errorId || ""})`;
    }
  }

  // -- the live link ------------------------------------------------------------------
  let delay = 500;
  function setStatus(state) {
    status.dataset.state = state;
    status.textContent = L[state];
  }
  function accept(data) {
    if (data.type !== "snapshot") return;
    snap = data;
    clockOffset = data.server_time - Date.now() / 1000;
    draw();
  }
  function connect() {
    setStatus("connecting");
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/dashboard`);
    ws.onopen = () => { delay = 500; setStatus("live"); };
    ws.onmessage = (e) => accept(JSON.parse(e.data));
    ws.onclose = () => {
      setStatus("offline");
      setTimeout(connect, delay);
      delay = Math.min(10000, delay * 2);
    };
  }
  fetch("/api/dashboard", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null)).then((d) => { if (d && !snap) accept(d); })
    .catch(() => {});
  connect();
})();
