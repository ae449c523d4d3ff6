// The inspector page: the server's kept events (SSE snapshot), then each judged event live,
// filtered by tenant / scenario / action / status; a test-event form posting to the real track
// route. Everything is built with DOM calls and textContent: event data is never parsed as HTML.

/** Most rows in the DOM at once (the newest matching ones). */
const MAX_ROWS = 500;

const $ = (id) => document.getElementById(id);
const state = { events: [], info: null, templates: [], trackPath: "" };
const seen = { tenant: new Set(), scenario: new Set(), action: new Set() };
const filters = { tenant: $("filter-tenant"), scenario: $("filter-scenario"), action: $("filter-action") };

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function matches(ev) {
  return (
    (filters.tenant.value === "" || ev.tenant === filters.tenant.value) &&
    (filters.scenario.value === "" || ev.scenario === filters.scenario.value) &&
    (filters.action.value === "" || ev.action === filters.action.value) &&
    ($("filter-status").value === "" || ev.status === $("filter-status").value)
  );
}

function pretty(json) {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

function row(ev) {
  const d = el("details", `event status-${ev.status}`);
  d.dataset.seq = String(ev.seq);
  d.dataset.status = ev.status;
  d.dataset.tenant = ev.tenant;
  const s = el("summary");
  s.append(
    el("span", "time", new Date(ev.receivedAt).toLocaleTimeString()),
    el("span", `badge ${ev.status}`, ev.status),
    el("span", "tenant", ev.tenant || "(no tenant)"),
    el("span", "scenario", ev.scenario || "(no scenario)"),
    el("span", "action", ev.action || "(no action)"),
    el("span", "transport", ev.batch ? `${ev.transport} batch` : ev.transport),
    el("span", "event-id", ev.eventId),
    el("span", "violation-count", ev.violations.length ? `${ev.violations.length} violation(s)` : ""),
  );
  if (ev.sinkError) s.append(el("span", "badge sink-error", `not stored: ${ev.sinkError}`));
  d.append(s);
  const body = el("div", "event-body");
  if (ev.violations.length) {
    const t = el("table", "violations");
    const head = el("tr");
    for (const h of ["severity", "field", "rule", "message"]) head.append(el("th", "", h));
    t.append(head);
    for (const v of ev.violations) {
      const r = el("tr", `violation ${v.severity}`);
      r.append(
        el("td", "severity", v.severity),
        el("td", "field", v.field || "(event)"),
        el("td", "rule", v.rule),
        el("td", "message", v.message),
      );
      t.append(r);
    }
    body.append(t);
  }
  const meta = [`transport: ${ev.transport}${ev.batch ? " (batch item)" : ""}`];
  if (ev.configVersion !== null) meta.push(`tracking config version: ${ev.configVersion}`);
  if (ev.truncated) meta.push(`JSON cut at ${state.info ? state.info.maxEventBytes : "?"} bytes`);
  body.append(el("p", "meta", meta.join(" · ")), el("pre", "json", ev.truncated ? ev.json : pretty(ev.json)));
  d.append(body);
  return d;
}

function addOption(kind, value) {
  if (value === "" || seen[kind].has(value)) return;
  seen[kind].add(value);
  const select = filters[kind];
  const options = [...seen[kind]].sort();
  const o = el("option", "", value);
  o.value = value;
  const before = options.indexOf(value) + 1; // +1: the "all" option
  select.insertBefore(o, select.options[before] || null);
}

function updateCounts() {
  const n = { good: 0, warned: 0, rejected: 0 };
  for (const ev of state.events) n[ev.status]++;
  for (const k of Object.keys(n)) $(`count-${k}`).textContent = `${n[k]} ${k}`;
  $("empty").hidden = state.events.length > 0;
}

function updateShown() {
  const list = $("events");
  $("shown").textContent = `${list.children.length} shown`;
}

function render() {
  const list = $("events");
  const rows = [];
  for (let i = state.events.length - 1; i >= 0 && rows.length < MAX_ROWS; i--) {
    const ev = state.events[i];
    if (matches(ev)) rows.push(row(ev));
  }
  list.replaceChildren(...rows);
  updateCounts();
  updateShown();
}

function add(ev) {
  state.events.push(ev);
  addOption("tenant", ev.tenant);
  addOption("scenario", ev.scenario);
  addOption("action", ev.action);
  if (matches(ev)) {
    const list = $("events");
    list.prepend(row(ev));
    while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
  }
  updateCounts();
  updateShown();
}

function setLive(st, text) {
  const s = $("live-status");
  s.dataset.state = st;
  s.textContent = text;
}

function connect() {
  const source = new EventSource("/inspector/events");
  source.addEventListener("snapshot", (m) => {
    const snap = JSON.parse(m.data);
    state.info = snap.info;
    state.events = [];
    for (const ev of snap.events) {
      state.events.push(ev);
      addOption("tenant", ev.tenant);
      addOption("scenario", ev.scenario);
      addOption("action", ev.action);
    }
    const i = snap.info;
    $("limits").textContent =
      `keeps ${i.eventsPerTenant} events × ${i.maxTenants} tenants${i.recordAlways ? ", always recording" : ""}`;
    render();
    setLive("live", "live");
  });
  source.addEventListener("event", (m) => add(JSON.parse(m.data)));
  source.addEventListener("reset", () => {
    state.events = [];
    render();
  });
  source.onerror = () => setLive("offline", "reconnecting…");
}

async function resetAll() {
  const r = await fetch("/inspector/api/reset", { method: "POST" });
  if (!r.ok) setLive("offline", `reset failed: ${r.status}`);
}

function fillTemplate() {
  const t = state.templates.find((x) => x.id === $("test-template").value);
  if (!t) return;
  const action = $("test-action");
  action.replaceChildren(
    ...(t.actions.length ? t.actions : [t.event.action_type]).map((a) => {
      const o = el("option", "", a);
      o.value = a;
      return o;
    }),
  );
  $("test-body").value = JSON.stringify(t.event, null, 2);
}

function setAction() {
  try {
    const body = JSON.parse($("test-body").value);
    body.action_type = $("test-action").value;
    $("test-body").value = JSON.stringify(body, null, 2);
  } catch {
    // The body is not JSON (being edited): leave it; sending shows the server's answer.
  }
}

async function sendTest(e) {
  e.preventDefault();
  const headers = { "content-type": "application/json" };
  const key = $("test-key").value.trim();
  if (key) headers["x-api-key"] = key;
  sessionStorage.setItem("inspector-test-key", key);
  const out = $("test-result");
  out.textContent = "sending…";
  try {
    const r = await fetch(state.trackPath, { method: "POST", headers, body: $("test-body").value });
    const text = await r.text();
    out.dataset.status = String(r.status);
    out.textContent = `HTTP ${r.status}\n${pretty(text)}`;
  } catch (err) {
    out.dataset.status = "error";
    out.textContent = `request failed: ${err}`;
  }
}

async function loadTemplates() {
  const r = await fetch("/inspector/api/test-events");
  if (!r.ok) return;
  const body = await r.json();
  state.templates = body.templates;
  state.trackPath = body.trackPath;
  $("test-path").textContent = `POST ${body.trackPath}`;
  $("test-template").replaceChildren(
    ...body.templates.map((t) => {
      const o = el("option", "", `${t.id} (${t.name})`);
      o.value = t.id;
      return o;
    }),
  );
  fillTemplate();
}

for (const id of ["filter-tenant", "filter-scenario", "filter-action", "filter-status"]) {
  $(id).addEventListener("change", render);
}
$("reset").addEventListener("click", resetAll);
$("test-template").addEventListener("change", fillTemplate);
$("test-action").addEventListener("change", setAction);
$("test-fill").addEventListener("click", fillTemplate);
$("test-form").addEventListener("submit", sendTest);
$("test-key").value = sessionStorage.getItem("inspector-test-key") || "";
loadTemplates();
connect();
