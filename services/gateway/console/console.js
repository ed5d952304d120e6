// The web console: signs in at the gateway, then lists (page by page), creates, edits and
// deletes customers, movies and casts, places orders, drives the order generator, shows every
// service's health, each consumer group's lag and dead letters (with their re-drive), and shows
// the platform's change events live as the gateway reads them.
// Plain DOM code, no framework; values from the APIs are only ever set as text, never as HTML.
//
// Edits are optimistic: the form remembers the ETag (the version) it was opened with and sends
// it as If-Match, so saving over someone else's change is a 412 the console explains instead of
// a silent overwrite. A 422 puts each field's message next to that field.
"use strict";

const RESOURCES = {
  customers: {
    title: "Customers", singular: "customer", path: "/api/v1/customers", deletable: true, editable: true,
    columns: ["name", "email", "phone", "version"],
    fields: [
      { name: "name", required: true },
      { name: "email", type: "email", required: true },
      { name: "phone" },
    ],
  },
  movies: {
    title: "Movies", singular: "movie", path: "/api/v1/movies", deletable: true, editable: true,
    columns: ["title", "genres", "release_year", "expiry_date", "version"],
    fields: [
      { name: "title", required: true },
      { name: "plot" },
      { name: "genres", hint: "comma-separated, e.g. action, drama", list: true },
      { name: "release_year", type: "number" },
      { name: "expiry_date", type: "date" },
    ],
  },
  casts: {
    title: "Casts", singular: "cast", path: "/api/v1/casts", deletable: true, editable: true,
    columns: ["name", "nationality", "version"],
    fields: [{ name: "name", required: true }, { name: "nationality" }],
  },
  orders: {
    title: "Orders", singular: "order", path: "/api/v1/orders", deletable: false, editable: false,
    columns: ["symbol", "quantity", "customer_id", "created_at"],
    fields: [
      { name: "symbol", required: true },
      { name: "quantity", type: "number", required: true },
      { name: "customer_id", hint: "optional customer id" },
    ],
  },
};

const PAGE_SIZE = 10;
const LIVE_MAX = 100;

const $ = (id) => document.getElementById(id);
let current = "customers";
// Paging: the cursor of every page shown so far (null for the first), and the next one's.
let pageCursors = [null];
let nextCursor = null;
// The item being edited: { resource, id, etag }.
let editing = null;
let liveSource = null;
// The consumers view refreshes itself while it is shown.
let consumersTimer = null;
const CONSUMERS_REFRESH_MS = 5000;

// ---- talking to the gateway ------------------------------------------------------------------

function token() {
  return sessionStorage.getItem("token");
}

class ApiError extends Error {
  constructor(status, problem) {
    const details = problem && problem.details ? Object.entries(problem.details) : [];
    const lines = details.map(([field, why]) => `${field}: ${why}`);
    super([(problem && problem.message) || `HTTP ${status}`, ...lines].join("\n"));
    this.status = status;
    this.problem = problem || {};
    this.details = (problem && problem.details) || {};
  }
}

// Calls the API; answers { body, etag }.
async function request(method, path, body, extraHeaders = {}) {
  const headers = { Authorization: `Bearer ${token()}`, ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut("Your session has expired; sign in again.");
    throw new ApiError(401, { message: "not signed in" });
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { message: text }; }
  if (!response.ok) throw new ApiError(response.status, json);
  return { body: json, etag: response.headers.get("ETag") };
}

async function api(method, path, body) {
  return (await request(method, path, body)).body;
}

function say(text, isError = false) {
  const box = $("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
  box.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { box.hidden = true; }, isError ? 8000 : 3000);
}

async function guarded(action) {
  try {
    await action();
  } catch (e) {
    if (e.status !== 401) say(e.message, true);
  }
}

// ---- signing in and out ------------------------------------------------------------------------

async function signIn(username, password) {
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { Authorization: "Basic " + btoa(unescape(encodeURIComponent(`${username}:${password}`))) },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  sessionStorage.setItem("token", body.token);
  await showSession();
}

async function showSession() {
  const me = await api("GET", "/api/v1/auth/me");
  $("who").textContent = me.sub;
  $("role").textContent = me.role;
  document.body.classList.toggle("reader", me.role !== "admin");
  $("session").hidden = false;
  $("login-panel").hidden = true;
  $("workspace").hidden = false;
  startLive();
  await showTab(current);
}

function signOut(text) {
  sessionStorage.removeItem("token");
  stopLive();
  clearInterval(consumersTimer);
  $("session").hidden = true;
  $("workspace").hidden = true;
  $("login-panel").hidden = false;
  if (text) say(text, true);
}

// ---- field errors --------------------------------------------------------------------------------

// Shows a 422's (or 409's) per-field messages next to the fields of `form`; answers whether any
// field of the form was named.
function showFieldErrors(form, error) {
  clearFieldErrors(form);
  let shown = false;
  for (const [field, why] of Object.entries(error.details || {})) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (!slot) continue;
    slot.textContent = why;
    slot.hidden = false;
    const input = form.elements[field];
    if (input) input.setAttribute("aria-invalid", "true");
    shown = true;
  }
  return shown;
}

function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    slot.textContent = "";
    slot.hidden = true;
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// Runs a form's write; a validation error goes next to its fields, anything else to the toast.
async function submitting(form, action) {
  try {
    clearFieldErrors(form);
    await action();
  } catch (e) {
    if (e.status === 401) return;
    if ((e.status === 422 || e.status === 409) && showFieldErrors(form, e)) {
      say(e.problem.message || "Please correct the marked fields.", true);
      return;
    }
    if (e.status === 412 && form === $("edit-form")) return showConflict(e);
    say(e.message, true);
  }
}

// ---- resources ----------------------------------------------------------------------------------

function display(value) {
  return Array.isArray(value) ? value.join(", ") : value == null ? "" : String(value);
}

function cell(value, column) {
  const td = document.createElement("td");
  td.textContent = display(value);
  if (column) td.dataset.col = column;
  return td;
}

function actionButton(label, testid, className, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.textContent = label;
  button.setAttribute("data-testid", testid);
  button.addEventListener("click", onClick);
  return button;
}

async function loadRows() {
  const resource = RESOURCES[current];
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const cursor = pageCursors[pageCursors.length - 1];
  if (cursor) query.set("cursor", cursor);
  const page = await api("GET", `${resource.path}?${query}`);
  const rows = $("resource-rows");
  rows.replaceChildren();
  for (const item of page.items || []) {
    const tr = document.createElement("tr");
    tr.dataset.id = item.id;
    tr.setAttribute("data-testid", "row");
    const id = cell(item.id, "id");
    id.className = "id";
    tr.append(id, ...resource.columns.map((c) => cell(item[c], c)));
    const actions = document.createElement("td");
    actions.className = "actions";
    if (resource.editable) {
      actions.append(actionButton("Edit", "edit", "write", () => guarded(() => openEditor(item.id))));
    }
    if (resource.deletable) {
      actions.append(actionButton("Delete", "delete", "danger write", () => guarded(async () => {
        if (!confirm(`Delete ${resource.singular} ${item.id}?`)) return;
        // If-Match: deleting what someone has changed since this page was loaded is a 412.
        const ifMatch = item.version != null ? { "If-Match": `"${item.version}"` } : {};
        await request("DELETE", `${resource.path}/${item.id}`, undefined, ifMatch);
        say(`Deleted ${resource.singular} ${item.id}`);
        if (editing && editing.id === item.id) closeEditor();
        await loadRows();
      })));
    }
    tr.append(actions);
    rows.append(tr);
  }
  nextCursor = page.next_cursor || null;
  const pageNumber = pageCursors.length;
  $("page-info").textContent = `Page ${pageNumber} · ${(page.items || []).length} shown`;
  $("next-page").hidden = !nextCursor;
  $("first-page").hidden = pageNumber === 1;
}

function fieldInputs(container, resource, prefix) {
  container.replaceChildren(...resource.fields.map((f) => {
    const label = document.createElement("label");
    label.textContent = f.name.replace(/_/g, " ") + (f.hint ? ` (${f.hint})` : "");
    const input = document.createElement("input");
    input.name = f.name;
    input.type = f.type || "text";
    input.required = !!f.required;
    input.setAttribute("data-testid", `${prefix}-${f.name}`);
    const error = document.createElement("span");
    error.className = "field-error";
    error.dataset.errorFor = f.name;
    error.setAttribute("data-testid", `${prefix}-error-${f.name}`);
    error.hidden = true;
    label.append(input, error);
    return label;
  }));
}

function renderResource() {
  const resource = RESOURCES[current];
  $("resource-title").textContent = resource.title;
  $("create-kind").textContent = resource.singular;
  const head = $("resource-head");
  head.replaceChildren(...["id", ...resource.columns, ""].map((c) => {
    const th = document.createElement("th");
    th.textContent = c.replace(/_/g, " ");
    return th;
  }));
  fieldInputs($("create-fields"), resource, "create");
  $("generator").hidden = current !== "orders";
  closeEditor();
}

// The JSON body of `form` for the current resource. With `full` (a PUT), empty optional fields
// are sent as null so that clearing a field clears it.
function formBody(form, full) {
  const body = {};
  for (const f of RESOURCES[current].fields) {
    const raw = form.elements[f.name].value.trim();
    if (raw === "") {
      if (full && !f.required) body[f.name] = f.list ? [] : null;
      else if (full) body[f.name] = "";
      continue;
    }
    if (f.list) body[f.name] = raw.split(",").map((s) => s.trim()).filter(Boolean);
    else if (f.type === "number") body[f.name] = Number(raw);
    else body[f.name] = raw;
  }
  return body;
}

// ---- editing with If-Match ------------------------------------------------------------------

async function openEditor(id) {
  const resource = RESOURCES[current];
  const { body: item, etag } = await request("GET", `${resource.path}/${id}`);
  editing = { resource: current, id, etag };
  const form = $("edit-form");
  $("edit-kind").textContent = resource.singular;
  $("edit-id").textContent = id;
  $("edit-version").textContent = item.version;
  fieldInputs($("edit-fields"), resource, "edit");
  for (const f of resource.fields) form.elements[f.name].value = display(item[f.name]);
  $("edit-conflict").hidden = true;
  form.hidden = false;
  form.elements[resource.fields[0].name].focus();
}

function closeEditor() {
  editing = null;
  $("edit-form").hidden = true;
  $("edit-conflict").hidden = true;
}

function showConflict(error) {
  const resource = RESOURCES[editing.resource];
  $("edit-conflict-text").textContent =
    `Conflict: this ${resource.singular} was changed by someone else after you opened it ` +
    `(you edited version ${editing.etag ? editing.etag.replace(/"/g, "") : "?"}). ` +
    `Your changes were not saved. Load the current version, then make your change again. ` +
    `(${error.problem.message || "412 Precondition Failed"})`;
  $("edit-conflict").hidden = false;
  say(`Not saved: ${resource.singular} changed meanwhile (412)`, true);
}

async function saveEdit() {
  const resource = RESOURCES[editing.resource];
  const headers = editing.etag ? { "If-Match": editing.etag } : {};
  const { body: saved } = await request(
    "PUT", `${resource.path}/${editing.id}`, formBody($("edit-form"), true), headers);
  say(`Saved ${resource.singular} ${saved.id} (version ${saved.version})`);
  closeEditor();
  await loadRows();
}

// ---- orders' generator -----------------------------------------------------------------------

async function loadGenerator() {
  const status = await api("GET", "/api/v1/orders/generator");
  $("generator-state").textContent = status.state;
  $("generator-made").textContent = status.orders_made;
}

async function showTab(tab) {
  current = tab;
  for (const button of document.querySelectorAll("#tabs button")) {
    button.classList.toggle("active", button.dataset.tab === tab);
  }
  const view = tab === "health" || tab === "consumers" ? tab : "resource";
  for (const name of ["health", "consumers", "resource"]) $(`${name}-view`).hidden = name !== view;
  clearInterval(consumersTimer);
  if (tab === "health") return loadHealth();
  if (tab === "consumers") {
    consumersTimer = setInterval(() => guarded(loadConsumers), CONSUMERS_REFRESH_MS);
    return loadConsumers();
  }
  renderResource();
  pageCursors = [null];
  nextCursor = null;
  await loadRows();
  if (tab === "orders") await loadGenerator();
  await loadSnapshot();
}

// ---- snapshots ----------------------------------------------------------------------------------
// The newest snapshot of the resource shown, polled while it runs: its state and a progress bar
// of rows emitted out of the live rows it found when it started.

let snapshotShown = null; // { resource, id }
let snapshotTimer = null;

function showSnapshot(snapshot) {
  clearTimeout(snapshotTimer);
  snapshotShown = snapshot ? { resource: current, id: snapshot.id } : null;
  const state = snapshot ? snapshot.state : "none yet";
  $("snapshot-state").textContent = state;
  $("snapshot-progress").max = snapshot ? Math.max(snapshot.rows_total, 1) : 1;
  $("snapshot-progress").value = snapshot ? (snapshot.state === "done" ? Math.max(snapshot.rows_total, 1) : snapshot.rows_done) : 0;
  $("snapshot-rows").textContent = snapshot ? `${snapshot.rows_done} / ${snapshot.rows_total} rows` : "";
  $("snapshot-pause").hidden = state !== "running";
  $("snapshot-resume").hidden = state !== "paused";
  $("snapshot-cancel").hidden = state !== "running" && state !== "paused";
  if (state === "running") {
    const resource = current;
    snapshotTimer = setTimeout(() => guarded(async () => {
      if (current === resource && snapshotShown) {
        showSnapshot(await api("GET", `${RESOURCES[resource].path}/snapshots/${snapshotShown.id}`));
      }
    }), 1000);
  }
}

async function loadSnapshot() {
  const list = await api("GET", `${RESOURCES[current].path}/snapshots?limit=1`);
  showSnapshot(list.items[0] || null);
}

async function steerSnapshot(action) {
  const path = `${RESOURCES[current].path}/snapshots/${snapshotShown.id}/${action}`;
  showSnapshot(await api("POST", path));
}

// ---- health -------------------------------------------------------------------------------------

async function loadHealth() {
  const response = await fetch("/health");
  const health = await response.json();
  const list = $("health-list");
  list.replaceChildren(...Object.entries(health.services).map(([name, s]) => {
    const li = document.createElement("li");
    li.setAttribute("data-testid", `health-${name}`);
    const state = document.createElement("span");
    state.className = s.status === "UP" ? "up" : "down";
    state.textContent = s.status;
    li.append(`${name}: `, state, s.reason ? ` (${s.reason})` : "", s.url ? ` ${s.url}` : "");
    return li;
  }));
}

// ---- consumer groups and dead letters --------------------------------------------------------

function row(testid, ...cells) {
  const tr = document.createElement("tr");
  tr.setAttribute("data-testid", testid);
  for (const content of cells) {
    const td = document.createElement("td");
    td.append(content);
    tr.append(td);
  }
  return tr;
}

async function loadConsumers() {
  const overview = await api("GET", "/api/v1/consumers");
  $("consumer-rows").replaceChildren(...overview.groups.flatMap((g) => g.topics.map((t) => {
    const committed = t.partitions.map((p) => (p.committed === null ? "none" : p.committed)).join(", ");
    const end = t.partitions.map((p) => p.end).join(", ");
    const lag = document.createElement("span");
    lag.className = t.lag === 0 ? "up" : "down";
    lag.textContent = String(t.lag);
    return row(`consumer-${g.consumer}-${t.topic}`, g.consumer, g.group, t.topic, committed || "-", end || "-", lag);
  })));
  $("dead-letter-rows").replaceChildren(...overview.dead_letters.map((d) => {
    const redrive = d.waiting > 0
      ? actionButton("Re-drive", `redrive-${d.topic}`, "write", () => guarded(async () => {
        const result = await api("POST", `/api/v1/dlq/${encodeURIComponent(d.topic)}/redrive`);
        say(`Re-drove ${result.redriven} message(s) from ${d.dead_letter_topic} to ${d.topic}`);
        await loadConsumers();
      }))
      : "";
    return row(`dlq-${d.topic}`, d.dead_letter_topic, String(d.waiting), redrive);
  }));
}

// ---- the live event panel ---------------------------------------------------------------------

const OPS = { c: "create", u: "update", d: "delete", r: "read" };

function liveStatus(text, up) {
  const status = $("live-status");
  status.textContent = text;
  status.className = up ? "up" : "down";
  status.dataset.state = up ? "connected" : "disconnected";
}

// EventSource cannot send headers: the gateway takes the token as ?token= on this endpoint.
function startLive() {
  stopLive();
  const source = new EventSource(`/api/v1/events/stream?token=${encodeURIComponent(token())}`);
  liveSource = source;
  liveStatus("connecting…", false);
  source.addEventListener("ready", (e) => {
    const ready = JSON.parse(e.data);
    liveStatus(`live · ${ready.topics.length} topic${ready.topics.length === 1 ? "" : "s"}`, true);
    $("live-status").title = ready.topics.join(", ");
  });
  source.addEventListener("change", (e) => showLiveEvent(JSON.parse(e.data)));
  source.addEventListener("lagged", (e) => {
    const { missed } = JSON.parse(e.data);
    addLiveItem(document.createTextNode(`… ${missed} events skipped (the panel fell behind)`), "lagged");
  });
  source.addEventListener("error", () => {
    if (source !== liveSource) return;
    if (source.readyState === EventSource.CLOSED) {
      liveStatus("offline (sign in again to reconnect)", false);
    } else {
      liveStatus("reconnecting…", false);
    }
  });
}

function stopLive() {
  if (liveSource) liveSource.close();
  liveSource = null;
  liveStatus("offline", false);
}

function addLiveItem(content, className) {
  const li = document.createElement("li");
  li.className = className;
  li.append(content);
  const list = $("live-events");
  list.prepend(li);
  while (list.children.length > LIVE_MAX) list.lastElementChild.remove();
  return li;
}

function showLiveEvent(event) {
  const body = document.createElement("div");
  const head = document.createElement("div");
  head.className = "live-head";
  const op = document.createElement("span");
  op.className = `op op-${event.op}`;
  op.textContent = OPS[event.op] || event.op;
  op.setAttribute("data-testid", "live-op");
  const what = document.createElement("span");
  what.className = "live-what";
  what.textContent = `${event.topic} · v${event.version}`;
  head.append(op, what);
  const key = document.createElement("div");
  key.className = "live-key";
  key.textContent = event.key || event.aggregate_id || "";
  key.setAttribute("data-testid", "live-key");
  const diff = document.createElement("dl");
  diff.className = "live-diff";
  diff.setAttribute("data-testid", "live-diff");
  for (const [field, [before, after]] of Object.entries(event.diff || {})) {
    // Timestamps change with every write, and the id is the key shown above.
    if (field === "updated_at" || field === "created_at" || field === "id") continue;
    const dt = document.createElement("dt");
    dt.textContent = field;
    const dd = document.createElement("dd");
    dd.dataset.field = field;
    if (event.op === "c") dd.textContent = display(after);
    else if (event.op === "d") dd.textContent = display(before);
    else dd.textContent = `${display(before)} → ${display(after)}`;
    diff.append(dt, dd);
  }
  body.append(head, key, diff);
  const li = addLiveItem(body, "live-event");
  li.setAttribute("data-testid", "live-event");
  li.dataset.op = event.op;
  li.dataset.key = event.key || "";
  li.dataset.version = event.version;
  li.dataset.topic = event.topic;
}

// ---- wiring -------------------------------------------------------------------------------------

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  $("login-error").hidden = true;
  signIn(form.elements.username.value, form.elements.password.value)
    .then(() => { form.reset(); })
    .catch((e) => {
      $("login-error").textContent = e.message;
      $("login-error").hidden = false;
    });
});
$("logout").addEventListener("click", () => signOut());
for (const button of document.querySelectorAll("#tabs button")) {
  button.addEventListener("click", () => guarded(() => showTab(button.dataset.tab)));
}
$("refresh").addEventListener("click", () => guarded(() => showTab(current)));
$("next-page").addEventListener("click", () => guarded(async () => {
  pageCursors.push(nextCursor);
  await loadRows();
}));
$("first-page").addEventListener("click", () => guarded(async () => {
  pageCursors = [null];
  await loadRows();
}));
$("health-refresh").addEventListener("click", () => guarded(loadHealth));
$("consumers-refresh").addEventListener("click", () => guarded(loadConsumers));
$("create-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  submitting(form, async () => {
    const resource = RESOURCES[current];
    const created = await api("POST", resource.path, formBody(form, false));
    say(`Created ${resource.singular} ${created.id}`);
    form.reset();
    pageCursors = [null];
    await loadRows();
  });
});
$("edit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  submitting(event.target, saveEdit);
});
$("edit-cancel").addEventListener("click", closeEditor);
$("edit-reload").addEventListener("click", () => guarded(() => openEditor(editing.id)));
$("live-clear").addEventListener("click", () => $("live-events").replaceChildren());
$("generator-start").addEventListener("click", () => guarded(async () => {
  await api("POST", "/api/v1/orders/generator/start", { interval_ms: Number($("generator-interval").value) });
  await loadGenerator();
}));
$("generator-stop").addEventListener("click", () => guarded(async () => {
  await api("POST", "/api/v1/orders/generator/stop");
  await loadGenerator();
}));

$("snapshot-start").addEventListener("click", () => guarded(async () => {
  showSnapshot(await api("POST", `${RESOURCES[current].path}/snapshots`, {}));
}));
$("snapshot-pause").addEventListener("click", () => guarded(() => steerSnapshot("pause")));
$("snapshot-resume").addEventListener("click", () => guarded(() => steerSnapshot("resume")));
$("snapshot-cancel").addEventListener("click", () => guarded(() => steerSnapshot("cancel")));

if (token()) guarded(showSession);
