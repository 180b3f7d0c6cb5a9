// Shared by the status pages: API calls (with an optional Keystone token), the
// node label rules (same as the CLI's deployer/cli/progress.py) and formatting.
"use strict";

const PHASES = ["connect", "install", "register", "configure", "converge"];
const FINAL_RUN_STATES = ["succeeded", "failed", "cancelled"];
const TOKEN_KEY = "deployer.token";

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function apiGet(path) {
  return (await apiGetIfChanged(path, null)).body;
}

// A conditional GET: {status: 304, etag} when the resource still has `etag`,
// otherwise {status: 200, etag, body}.  With `wait` seconds the API holds the
// answer until the resource changes (a long poll).
async function apiGetIfChanged(path, etag, wait) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["X-Auth-Token"] = token;
  if (etag) headers["If-None-Match"] = etag;
  const url = etag && wait ? `${path}${path.includes("?") ? "&" : "?"}wait=${wait}` : path;
  const response = await fetch(url, { headers, cache: "no-store" });
  if (response.status === 401) showTokenForm();
  if (response.status === 304) return { status: 304, etag };
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, `HTTP ${response.status}: ${detail}`);
  }
  return { status: response.status, etag: response.headers.get("ETag"),
           body: await response.json() };
}

// With Keystone auth the API needs a token; it stays in this tab only.
function showTokenForm() {
  const form = document.getElementById("token-form");
  if (!form || !form.hidden) return;
  form.hidden = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, form.elements.token.value.trim());
    form.hidden = true;
  });
}

function nodeLabel(node) {
  if (FINAL_RUN_STATES.includes(node.run_status)) return node.run_status;
  if (node.run_status === "running") return node.phase || "connect";
  return "queued";
}

function phaseStep(label) {
  const index = PHASES.indexOf(label);
  return index < 0 ? "" : `step ${index + 1} of ${PHASES.length}`;
}

function formatElapsed(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const whole = Math.floor(seconds);
  if (whole < 60) return `${whole}s`;
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
}

function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

// el("div", {class: "x"}, "text", child) — DOM building without innerHTML,
// so names from the API are never parsed as markup.
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message || "";
  box.hidden = !message;
}
