// The agent panel: queue login/logout, pause, the screen pop, the wrap-up form, the
// greeting script, callbacks and click-to-call. Everything comes from the API and the
// panel WebSocket; every value is put on the page as text, never as markup.
"use strict";
(() => {
  const TEXT = {
    "zh-CN": {
      state: "狀態", since: "持續", login: "登入隊列", logout: "登出隊列", pause: "暫停",
      unpause: "恢復接聽", reason: "暫停原因", pendingPause: "通話結束後暫停",
      states: { logged_out: "已登出", available: "空閒", ringing: "振鈴中", on_call: "通話中",
        wrap_up: "話後處理", paused: "暫停" },
      reasons: { break: "休息", meal: "用餐", training: "培訓", meeting: "會議", coaching: "輔導",
        "missed-calls": "漏接暫停" },
      pop: "來電彈屏", noPop: "暫無來電", caller: "來電號碼", name: "客戶姓名",
      member: "會員", repeat: "再次來電", firstCall: "首次來電", queue: "隊列",
      history: "歷史來電", noHistory: "無歷史記錄", openCases: "未結案件", noCases: "無未結案件",
      loading: "正在載入歷史…", historyUnavailable: "歷史記錄暫時無法載入",
      col: { at: "時間", direction: "方向", outcome: "結果", agent: "座席", category: "類別",
        subcategory: "細類", notes: "備註", resolved: "已解決", id: "編號", kind: "類型",
        owner: "負責人", status: "狀態", due: "回覆期限", summary: "摘要", number: "號碼",
        purpose: "目的", deadline: "期限", action: "操作" },
      wrapup: "話後小結", category: "類別", complaintType: "投訴類別", notes: "備註",
      resolved: "已解決", contact: "客戶資料", contactNotes: "客戶備註",
      submit: "提交小結", wrapped: "小結已保存", caseOpened: "已建立投訴案件,回覆期限",
      call: "通話", noCall: "沒有可小結的通話",
      script: "服務用語", opening: "問聲", responses: "應聲", forbidden: "禁用語",
      closing: "送聲", rules: "要求",
      callbacks: "我的回撥", noCallbacks: "沒有分配給您的回撥", dial: "撥打",
      dialNumber: "撥打號碼", dialling: "正在呼叫您的話機,接起後將撥打", callFailed: "呼叫失敗",
      connected: "已連線", reconnecting: "重新連線中…", yes: "是", no: "否", overdue: "已逾期",
      inbound: "呼入", outbound: "呼出", internal: "內部",
      outcomes: { answered: "已接聽", answered_by_system: "系統接聽", abandoned: "放棄",
        abandoned_after_system: "等候中放棄", unanswered: "未接", interrupted: "中斷" },
      notDialable: "非號碼",
    },
    en: {
      state: "State", since: "for", login: "Log in to queue", logout: "Log out", pause: "Pause",
      unpause: "Unpause", reason: "Reason", pendingPause: "pause after this call",
      states: { logged_out: "Logged out", available: "Available", ringing: "Ringing",
        on_call: "On call", wrap_up: "Wrap-up", paused: "Paused" },
      reasons: { break: "Break", meal: "Meal", training: "Training", meeting: "Meeting",
        coaching: "Coaching", "missed-calls": "Missed calls" },
      pop: "Screen pop", noPop: "No call yet", caller: "Caller", name: "Name", member: "Member",
      repeat: "Repeat caller", firstCall: "First call", queue: "Queue",
      history: "Earlier calls", noHistory: "No earlier calls", openCases: "Open cases",
      noCases: "No open cases", loading: "Loading history…",
      historyUnavailable: "History is unavailable right now",
      col: { at: "Time", direction: "Direction", outcome: "Outcome", agent: "Agent",
        category: "Category", subcategory: "Type", notes: "Notes", resolved: "Resolved",
        id: "No.", kind: "Kind", owner: "Owner", status: "Status", due: "Reply due",
        summary: "Summary", number: "Number", purpose: "Purpose", deadline: "Deadline",
        action: "" },
      wrapup: "Wrap-up", category: "Category", complaintType: "Complaint type", notes: "Notes",
      resolved: "Resolved", contact: "Customer", contactNotes: "Customer notes",
      submit: "File wrap-up", wrapped: "Wrap-up saved", caseOpened: "Complaint case opened, reply due",
      call: "Call", noCall: "No call to wrap up",
      script: "Greeting script", opening: "Opening", responses: "Polite forms",
      forbidden: "Never say", closing: "Closing", rules: "Rules",
      callbacks: "My callbacks", noCallbacks: "No callbacks assigned to you", dial: "Call",
      dialNumber: "Number to call", dialling: "Ringing your phone; once you answer we dial", callFailed: "Call failed",
      connected: "connected", reconnecting: "reconnecting…", yes: "yes", no: "no",
      overdue: "overdue", inbound: "inbound", outbound: "outbound", internal: "internal",
      outcomes: { answered: "answered", answered_by_system: "system answered",
        abandoned: "abandoned", abandoned_after_system: "abandoned while held",
        unanswered: "unanswered", interrupted: "interrupted" },
      notDialable: "not a number",
    },
  };
  const lang = () => (document.documentElement.lang || "zh-CN").startsWith("en") ? "en" : "zh-CN";
  const t = () => TEXT[lang()];
  const CATEGORY_EN = { "咨詢": "inquiry", "查詢": "lookup", "投訴": "complaint",
    "建議": "suggestion", "報修": "repair", other: "other" };

  const params = new URLSearchParams(location.search);
  const asked = params.get("agent");
  const q = (path) => asked ? `${path}${path.includes("?") ? "&" : "?"}agent=${encodeURIComponent(asked)}` : path;

  const view = { agent: null, pop: null, popState: null, config: null, lastCall: null };

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "className") node.className = v;
      else if (v === true) node.setAttribute(k, "");
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const $ = (id) => document.getElementById(id);
  const time = (epoch) => epoch ? new Date(epoch * 1000).toLocaleString(lang()) : "";
  const category = (c) => c ? (lang() === "en" && CATEGORY_EN[c] ? `${c} (${CATEGORY_EN[c]})` : c) : "";

  function showError(err) {
    const box = $("panel-error");
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.textContent = err.message || String(err);
    if (err.errorId) box.dataset.errorId = err.errorId;
    box.hidden = false;
  }

  async function api(method, path, body) {
    try {
      const result = await cc.api(method, path, body);
      showError(null);
      return result;
    } catch (err) {
      showError(err);
      throw err;
    }
  }

  // -- state ---------------------------------------------------------------------------

  function renderState() {
    const a = view.agent;
    if (!a) return;
    if (a.call) view.lastCall = a.call;
    $("panel-agent").textContent = `${a.name} · ${a.staff_no}`;
    const s = t();
    const seconds = Math.max(0, Math.round(Date.now() / 1000 - a.since));
    const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
    const ss = String(seconds % 60).padStart(2, "0");
    const label = s.states[a.state] || a.state;
    const reason = a.pause_reason ? ` · ${s.reasons[a.pause_reason] || a.pause_reason}` : "";
    const pending = a.pending_pause ? ` (${s.pendingPause}: ${s.reasons[a.pending_pause] || a.pending_pause})` : "";
    const box = $("state");
    box.dataset.state = a.state;
    box.replaceChildren(
      el("strong", { id: "state-label" }, label + reason),
      el("span", { className: "muted" }, ` ${s.since} ${mm}:${ss}${pending}`),
    );
    $("btn-login").disabled = a.state !== "logged_out";
    $("btn-logout").disabled = ["logged_out", "ringing", "on_call"].includes(a.state);
    $("btn-pause").disabled = a.state === "logged_out";
    $("btn-unpause").disabled = !(a.state === "paused" || a.pending_pause);
    const target = $("wrap-call");
    if (target) target.textContent = view.lastCall || s.noCall;
  }

  async function act(action, body) {
    const a = view.agent;
    const result = await api("POST", `/api/agents/${encodeURIComponent(a.staff_no)}/${action}`, body);
    view.agent = result;
    renderState();
  }

  // -- the pop --------------------------------------------------------------------------

  function renderPop() {
    const s = t();
    const box = $("pop");
    const pop = view.pop;
    if (!pop) { box.replaceChildren(el("p", { className: "muted" }, s.noPop)); return; }
    const head = el("div", { className: "pop-head" },
      pop.greeting ? el("p", { id: "pop-greeting", className: "greeting" }, pop.greeting) : null,
      el("dl", {},
        // Shown as it came (anonymous, withheld, a trunk's text); flagged when it is no number.
        el("dt", {}, s.caller), el("dd", { id: "pop-number" }, pop.number || "—",
          pop.number && pop.dialable === false ? el("span", { className: "tag" }, ` ${s.notDialable}`) : null),
        el("dt", {}, s.name), el("dd", { id: "pop-name" }, pop.name || "—"),
        el("dt", {}, s.queue), el("dd", {}, pop.queue || "—"),
      ),
      el("p", { className: "tags" },
        el("span", { id: "pop-repeat", className: pop.repeat ? "tag repeat" : "tag" },
          pop.repeat ? s.repeat : s.firstCall),
        pop.contact && pop.contact.member ? el("span", { className: "tag member" }, s.member) : null),
      pop.contact && pop.contact.notes ? el("p", { id: "pop-contact-notes" }, pop.contact.notes) : null,
    );
    let history;
    if (view.popState === "loading") history = el("p", { className: "muted" }, s.loading);
    else if (view.popState === "history-unavailable") history = el("p", { className: "cc-error" }, s.historyUnavailable);
    else if (!pop.history.length) history = el("p", { className: "muted" }, s.noHistory);
    else {
      const c = s.col;
      history = el("table", { id: "pop-history" },
        el("thead", {}, el("tr", {}, [c.at, c.direction, c.outcome, c.agent, c.category, c.subcategory, c.notes, c.resolved].map((h) => el("th", {}, h)))),
        el("tbody", {}, pop.history.map((h) => el("tr", { "data-linkedid": h.linkedid },
          el("td", {}, time(h.at)), el("td", {}, s[h.direction] || h.direction),
          el("td", {}, s.outcomes[h.outcome] || h.outcome), el("td", {}, h.agent || ""),
          el("td", {}, category(h.category)), el("td", {}, h.subcategory || ""),
          el("td", { className: "notes" }, h.notes || ""),
          el("td", {}, h.resolved === null || h.resolved === undefined ? "" : (h.resolved ? s.yes : s.no))))),
      );
    }
    let cases;
    if (!pop.cases.length) cases = el("p", { className: "muted" }, s.noCases);
    else {
      const c = s.col;
      cases = el("table", { id: "pop-cases" },
        el("thead", {}, el("tr", {}, [c.id, c.kind, c.owner, c.status, c.due, c.summary].map((h) => el("th", {}, h)))),
        el("tbody", {}, pop.cases.map((k) => el("tr", { className: k.overdue ? "overdue" : "" },
          el("td", {}, k.id), el("td", {}, k.kind), el("td", {}, k.owner), el("td", {}, k.status),
          el("td", {}, time(k.reply_due_at), k.overdue ? ` (${s.overdue})` : ""),
          el("td", {}, k.summary)))),
      );
    }
    box.replaceChildren(head, el("h3", {}, s.history), history, el("h3", {}, s.openCases), cases);
    box.dataset.linkedid = pop.linkedid;
    // The wrap-up form starts from what is known of the caller.
    if (pop.contact || pop.name) {
      const name = $("contact-name");
      if (name && !name.dataset.touched) name.value = (pop.contact && pop.contact.name) || pop.name || "";
      const member = $("contact-member");
      if (member && !member.dataset.touched) member.checked = !!(pop.contact && pop.contact.member);
      const notes = $("contact-notes");
      if (notes && !notes.dataset.touched) notes.value = (pop.contact && pop.contact.notes) || "";
    }
  }

  function takePop(pop, state) {
    if (!pop) return;
    if (!view.pop || view.pop.linkedid !== pop.linkedid) {
      for (const id of ["contact-name", "contact-member", "contact-notes"]) {
        const node = $(id);
        if (node) delete node.dataset.touched;
      }
    }
    view.pop = pop;
    view.popState = state || null;
    view.lastCall = pop.linkedid;
    renderPop();
    renderState();
  }

  // -- wrap-up ----------------------------------------------------------------------------

  function buildWrapUp() {
    const s = t();
    const cfg = view.config;
    const categorySelect = el("select", { id: "wrap-category", name: "category", required: true },
      cfg.categories.map((c) => el("option", { value: c }, category(c))));
    const typeList = el("datalist", { id: "complaint-types" },
      cfg.complaint_types.map((c) => el("option", { value: c })));
    const typeField = el("label", { className: "cc-field", id: "wrap-subcategory-field" },
      el("span", {}, s.complaintType),
      el("input", { id: "wrap-subcategory", name: "subcategory", list: "complaint-types", maxlength: 64 }));
    const toggle = () => { typeField.hidden = categorySelect.value !== cfg.complaint_category; };
    categorySelect.addEventListener("change", toggle);
    const touched = (e) => { e.target.dataset.touched = "1"; };
    const form = el("form", { id: "wrapup-form" },
      el("p", {}, `${s.call}: `, el("code", { id: "wrap-call" }, view.lastCall || s.noCall)),
      el("label", { className: "cc-field" }, el("span", {}, s.category), categorySelect),
      typeField, typeList,
      el("label", { className: "cc-field" }, el("span", {}, s.notes),
        el("textarea", { id: "wrap-notes", name: "notes", rows: 3, maxlength: 4000 })),
      el("label", { className: "check" }, el("input", { type: "checkbox", id: "wrap-resolved" }), ` ${s.resolved}`),
      el("fieldset", {}, el("legend", {}, s.contact),
        el("label", { className: "cc-field" }, el("span", {}, s.name),
          el("input", { id: "contact-name", maxlength: 100, oninput: touched })),
        el("label", { className: "check" },
          el("input", { type: "checkbox", id: "contact-member", onchange: touched }), ` ${s.member}`),
        el("label", { className: "cc-field" }, el("span", {}, s.contactNotes),
          el("textarea", { id: "contact-notes", rows: 2, maxlength: 4000, oninput: touched }))),
      el("button", { type: "submit", className: "cc-button", id: "wrap-submit" }, s.submit),
      el("p", { id: "wrap-result", role: "status" }),
    );
    form.addEventListener("submit", (e) => { e.preventDefault(); fileWrapUp().catch(() => {}); });
    toggle();
    return form;
  }

  async function fileWrapUp() {
    const s = t();
    const a = view.agent;
    const linkedid = (a && a.call) || view.lastCall;
    if (!linkedid) { showError(new Error(s.noCall)); return; }
    // A caller ID that is no number (anonymous, withheld) has no contact to correct.
    const number = view.pop && view.pop.linkedid === linkedid && view.pop.dialable !== false ? view.pop.number : null;
    const nameField = $("contact-name"), memberField = $("contact-member"), notesField = $("contact-notes");
    if (number && (nameField.dataset.touched || memberField.dataset.touched || notesField.dataset.touched)) {
      const contact = {};
      if (nameField.dataset.touched) contact.name = nameField.value;
      if (memberField.dataset.touched) contact.member = memberField.checked;
      if (notesField.dataset.touched) contact.notes = notesField.value;
      await api("PUT", q(`/api/panel/contacts/${encodeURIComponent(number)}`), contact);
    }
    const body = {
      linkedid,
      category: $("wrap-category").value,
      notes: $("wrap-notes").value,
      resolved: $("wrap-resolved").checked,
    };
    if (body.category === view.config.complaint_category && $("wrap-subcategory").value.trim()) {
      body.subcategory = $("wrap-subcategory").value.trim();
    }
    const done = await api("POST", `/api/agents/${encodeURIComponent(a.staff_no)}/wrapup`, body);
    view.agent = done.agent;
    const result = $("wrap-result");
    result.dataset.linkedid = done.linkedid;
    result.textContent = done.case
      ? `${s.wrapped} · ${s.caseOpened} ${time(done.case.reply_due_at)}`
      : s.wrapped;
    $("wrap-notes").value = "";
    $("wrap-resolved").checked = false;
    renderState();
    loadCallbacks().catch(() => {});
  }

  // -- script and callbacks -----------------------------------------------------------------

  async function loadScript() {
    const s = t();
    const data = await api("GET", `/api/agents/${encodeURIComponent(view.agent.staff_no)}/script`);
    const list = (items) => el("ul", {}, items.map((i) => el("li", {}, i)));
    $("script").replaceChildren(
      el("h2", {}, s.script),
      el("p", { id: "script-opening", className: "greeting" }, data.opening),
      el("h4", {}, s.responses), list(data.responses),
      el("h4", {}, s.forbidden), list(data.forbidden),
      el("h4", {}, s.closing), list(data.closing),
      el("h4", {}, s.rules), list(data.rules),
    );
  }

  async function dial(number) {
    const s = t();
    const placed = await api("POST", "/api/panel/call", { number, agent: view.agent.staff_no });
    $("dial-result").textContent = `${s.dialling} ${placed.number}`;
  }

  async function loadCallbacks() {
    const s = t();
    const data = await api("GET", q("/api/panel/callbacks"));
    const c = s.col;
    const rows = data.callbacks.map((cb) => el("tr", { "data-callback": cb.id },
      el("td", {}, cb.number), el("td", {}, cb.purpose), el("td", {}, time(cb.due_at)),
      el("td", {}, time(cb.deadline)), el("td", {}, cb.status),
      el("td", {}, el("button", { type: "button", className: "cc-button cc-plain",
        onclick: () => dial(cb.number).catch(() => {}) }, s.dial))));
    const numberInput = el("input", { id: "dial-number", inputmode: "tel", placeholder: s.dialNumber });
    $("callbacks").replaceChildren(
      el("h2", {}, s.callbacks),
      rows.length
        ? el("table", { id: "callback-list" },
          el("thead", {}, el("tr", {}, [c.number, c.purpose, c.due, c.deadline, c.status, c.action].map((h) => el("th", {}, h)))),
          el("tbody", {}, rows))
        : el("p", { className: "muted" }, s.noCallbacks),
      el("form", { id: "dial-form", onsubmit: (e) => { e.preventDefault(); dial(numberInput.value).catch(() => {}); } },
        numberInput, el("button", { type: "submit", className: "cc-button" }, s.dial)),
      el("p", { id: "dial-result", role: "status" }),
    );
  }

  // -- layout and the live feed -----------------------------------------------------------

  function layout() {
    const s = t();
    const reasons = el("select", { id: "pause-reason" },
      view.config.pause_reasons.map((r) => el("option", { value: r }, s.reasons[r] || r)));
    const controls = el("section", { id: "controls", className: "card" },
      el("h2", {}, s.state), el("p", { id: "state" }),
      el("div", { className: "buttons" },
        el("button", { type: "button", className: "cc-button", id: "btn-login", onclick: () => act("login").catch(() => {}) }, s.login),
        el("button", { type: "button", className: "cc-button cc-plain", id: "btn-logout", onclick: () => act("logout").catch(() => {}) }, s.logout)),
      el("div", { className: "buttons" },
        el("label", {}, `${s.reason} `, reasons),
        el("button", { type: "button", className: "cc-button", id: "btn-pause", onclick: () => act("pause", { reason: reasons.value }).catch(() => {}) }, s.pause),
        el("button", { type: "button", className: "cc-button cc-plain", id: "btn-unpause", onclick: () => act("unpause").catch(() => {}) }, s.unpause)),
    );
    $("panel").replaceChildren(
      el("div", { className: "col" }, controls,
        el("section", { className: "card" }, el("h2", {}, s.pop), el("div", { id: "pop" }))),
      el("div", { className: "col" },
        el("section", { className: "card" }, el("h2", {}, s.wrapup), buildWrapUp()),
        el("section", { className: "card", id: "callbacks" })),
      el("div", { className: "col" }, el("section", { className: "card", id: "script" })),
    );
  }

  function connect(delay = 500) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${q("/ws/panel")}`);
    const status = $("ws-status");
    ws.addEventListener("open", () => { status.dataset.state = "open"; status.textContent = t().connected; delay = 500; });
    ws.addEventListener("message", (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === "hello" || msg.type === "state") {
        view.agent = msg.agent;
        renderState();
      }
      if (msg.type === "hello" && msg.pop) takePop(msg.pop);
      if (msg.type === "pop") takePop(msg.pop, msg.loading ? "loading" : msg.error || null);
      if (msg.type === "call-failed") {
        // The click-to-call never reached the agent's phone: say why, instead of "ringing".
        const result = $("dial-result");
        if (result) result.textContent = `${t().callFailed} ${msg.number}: ${msg.reason}`;
        showError(Object.assign(new Error(`${t().callFailed} ${msg.number}: ${msg.reason}`), { errorId: msg.reason }));
      }
    });
    ws.addEventListener("close", () => {
      status.dataset.state = "closed";
      status.textContent = t().reconnecting;
      setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
    });
  }

  async function start() {
    const data = await api("GET", q("/api/panel/state"));
    view.config = data;
    view.agent = data.agent;
    layout();
    renderState();
    if (data.pop) takePop(data.pop); else renderPop();
    connect();
    setInterval(renderState, 1000);
    await Promise.allSettled([loadScript(), loadCallbacks()]);
    document.body.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", () => { start().catch((err) => showError(err)); });
})();
