// The web console: signs in at the gateway, then lists, creates and deletes customers, movies,
// casts and orders through it, drives the order generator and shows every service's health.
// Plain DOM code, no framework; values from the APIs are only ever set as text, never as HTML.
"use strict";

const RESOURCES = {
  customers: {
    title: "Customers", singular: "customer", path: "/api/v1/customers", deletable: true,
    columns: ["name", "email", "phone", "version"],
    fields: [
      { name: "name", required: true },
      { name: "email", type: "email", required: true },
      { name: "phone" },
    ],
  },
  movies: {
    title: "Movies", singular: "movie", path: "/api/v1/movies", deletable: true,
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
    title: "Casts", singular: "cast", path: "/api/v1/casts", deletable: true,
    columns: ["name", "nationality", "version"],
    fields: [{ name: "name", required: true }, { name: "nationality" }],
  },
  orders: {
    title: "Orders", singular: "order", path: "/api/v1/orders", deletable: false,
    columns: ["symbol", "quantity", "customer_id", "created_at"],
    fields: [
      { name: "symbol", required: true },
      { name: "quantity", type: "number", required: true },
      { name: "customer_id", hint: "optional customer id" },
    ],
  },
};

const $ = (id) => document.getElementById(id);
let current = "customers";
let nextCursor = null;

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
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut("Your session has expired; sign in again.");
    throw new ApiError(401, { message: "not signed in" });
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
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
  $("app").hidden = false;
  await showTab(current);
}

function signOut(text) {
  sessionStorage.removeItem("token");
  $("session").hidden = true;
  $("app").hidden = true;
  $("login-panel").hidden = false;
  if (text) say(text, true);
}

// ---- resources ----------------------------------------------------------------------------------

function cell(value) {
  const td = document.createElement("td");
  td.textContent = Array.isArray(value) ? value.join(", ") : value == null ? "" : String(value);
  return td;
}

async function loadRows(append) {
  const resource = RESOURCES[current];
  const query = new URLSearchParams({ limit: "25" });
  if (append && nextCursor) query.set("cursor", nextCursor);
  const page = await api("GET", `${resource.path}?${query}`);
  const rows = $("resource-rows");
  if (!append) rows.replaceChildren();
  for (const item of page.items || []) {
    const tr = document.createElement("tr");
    const id = cell(item.id);
    id.className = "id";
    tr.append(id, ...resource.columns.map((c) => cell(item[c])));
    const actions = document.createElement("td");
    if (resource.deletable) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "danger write";
      button.textContent = "Delete";
      button.addEventListener("click", () => guarded(async () => {
        if (!confirm(`Delete ${resource.singular} ${item.id}?`)) return;
        await api("DELETE", `${resource.path}/${item.id}`);
        say(`Deleted ${resource.singular} ${item.id}`);
        await loadRows(false);
      }));
      actions.append(button);
    }
    tr.append(actions);
    rows.append(tr);
  }
  nextCursor = page.next_cursor || null;
  $("more").hidden = !nextCursor;
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
  const fields = $("create-fields");
  fields.replaceChildren(...resource.fields.map((f) => {
    const label = document.createElement("label");
    label.textContent = f.name.replace(/_/g, " ") + (f.hint ? ` (${f.hint})` : "");
    const input = document.createElement("input");
    input.name = f.name;
    input.type = f.type || "text";
    input.required = !!f.required;
    label.append(input);
    return label;
  }));
  $("generator").hidden = current !== "orders";
}

function formBody() {
  const body = {};
  for (const f of RESOURCES[current].fields) {
    const raw = $("create-form").elements[f.name].value.trim();
    if (raw === "") continue;
    if (f.list) body[f.name] = raw.split(",").map((s) => s.trim()).filter(Boolean);
    else if (f.type === "number") body[f.name] = Number(raw);
    else body[f.name] = raw;
  }
  return body;
}

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
  const health = tab === "health";
  $("health-view").hidden = !health;
  $("resource-view").hidden = health;
  if (health) return loadHealth();
  renderResource();
  nextCursor = null;
  await loadRows(false);
  if (tab === "orders") await loadGenerator();
}

// ---- health -------------------------------------------------------------------------------------

async function loadHealth() {
  const response = await fetch("/health");
  const health = await response.json();
  const list = $("health-list");
  list.replaceChildren(...Object.entries(health.services).map(([name, s]) => {
    const li = document.createElement("li");
    const state = document.createElement("span");
    state.className = s.status === "UP" ? "up" : "down";
    state.textContent = s.status;
    li.append(`${name}: `, state, s.reason ? ` (${s.reason})` : "", s.url ? ` ${s.url}` : "");
    return li;
  }));
}

// ---- wiring -------------------------------------------------------------------------------------

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  signIn(form.elements.username.value, form.elements.password.value)
    .then(() => { form.reset(); })
    .catch((e) => say(e.message, true));
});
$("logout").addEventListener("click", () => signOut());
for (const button of document.querySelectorAll("#tabs button")) {
  button.addEventListener("click", () => guarded(() => showTab(button.dataset.tab)));
}
$("refresh").addEventListener("click", () => guarded(() => showTab(current)));
$("next-page").addEventListener("click", () => guarded(() => loadRows(true)));
$("health-refresh").addEventListener("click", () => guarded(loadHealth));
$("create-form").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const resource = RESOURCES[current];
    const created = await api("POST", resource.path, formBody());
    say(`Created ${resource.singular} ${created.id}`);
    event.target.reset();
    await loadRows(false);
  });
});
$("generator-start").addEventListener("click", () => guarded(async () => {
  await api("POST", "/api/v1/orders/generator/start", { interval_ms: Number($("generator-interval").value) });
  await loadGenerator();
}));
$("generator-stop").addEventListener("click", () => guarded(async () => {
  await api("POST", "/api/v1/orders/generator/stop");
  await loadGenerator();
}));

if (token()) guarded(showSession);
