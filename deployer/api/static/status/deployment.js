// One deployment as a picture: its nodes grouped by step (left to right; the API's
// `step`, computed once by deployer/deployments/steps.py),
// each box coloured and labelled by phase, updated without reload.  The page
// long-polls the API (If-None-Match + wait): an answer comes when the
// deployment changed; the running nodes' clocks tick here in between.  Below the
// picture, the latest failover certification with its table.
"use strict";

const POLL_MS = 2000;       // pause after an error, or when the API could not wait
const WAIT_S = 25;          // the long poll's longest wait
let etag = null;
let receivedAt = Date.now();
const deploymentId = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
const runReasons = new Map();   // run id -> failure reason (fetched once per failed run)

// Nodes whose step the API does not know (null) come last, labelled "?".
function stepGroups(nodes) {
  const groups = new Map();
  for (const node of nodes) {
    const step = Number.isInteger(node.step) ? node.step : null;
    if (!groups.has(step)) groups.set(step, []);
    groups.get(step).push(node);
  }
  const rank = (step) => (step === null ? Infinity : step);
  return [...groups.entries()]
    .sort((a, b) => rank(a[0]) - rank(b[0]))
    .map(([step, members]) => [step ?? "?", members.sort((a, b) => a.resource.localeCompare(b.resource))]);
}

async function failureReason(node) {
  if (!node.run_id) return "";
  if (!runReasons.has(node.run_id)) {
    try {
      const run = await apiGet(`/v1/runs/${encodeURIComponent(node.run_id)}?tail=0`);
      runReasons.set(node.run_id, run.reason || "");
    } catch (_) {
      return "";   // shown next poll
    }
  }
  return runReasons.get(node.run_id);
}

async function nodeBox(node) {
  const label = nodeLabel(node);
  const step = phaseStep(label);
  const box = el("li", { class: `node label-${label}`, "data-resource": node.resource,
                         "data-label": label, "data-run-status": node.run_status || "none" },
    el("span", { class: "node-name" }, node.node_name || node.resource),
    node.node_name ? el("span", { class: "node-resource" }, `resource ${node.resource}`) : null,
    el("span", { class: "node-address" }, node.address || "no address"),
    el("span", { class: "node-label" }, label, step ? el("small", {}, ` (${step})`) : null),
    el("span", { class: "node-elapsed", "data-elapsed": node.elapsed_seconds ?? "" },
       `elapsed ${formatElapsed(node.elapsed_seconds)}`));
  if (PHASES.includes(label) || label === "succeeded") {
    const reached = label === "succeeded" ? PHASES.length : PHASES.indexOf(label) + 1;
    box.append(el("span", { class: "steps", "aria-hidden": "true" },
      ...PHASES.map((_, i) => el("span", { class: i < reached ? "done" : "" }))));
  }
  if (label === "failed" || label === "cancelled") {
    const reason = await failureReason(node);
    if (reason) box.append(el("span", { class: "node-reason" }, reason));
  }
  return box;
}

async function renderFlow(nodes) {
  const flow = document.getElementById("flow");
  const parts = [];
  const groups = stepGroups(nodes);
  for (const [index, [step, members]] of groups.entries()) {
    if (index > 0) parts.push(el("div", { class: "arrow", "aria-hidden": "true" }, "➜"));
    const boxes = await Promise.all(members.map(nodeBox));
    parts.push(el("section", { class: "step-group", "data-step": step,
                               "aria-label": `step ${step}` },
      el("h2", {}, `Step ${step}`,
         el("small", {}, members.length > 1 ? " · in parallel" : "")),
      el("ul", { class: "nodes" }, ...boxes)));
  }
  if (!groups.length) parts.push(el("p", { class: "empty" }, "No nodes yet."));
  flow.replaceChildren(...parts);
}

function renderSummary(d) {
  document.title = `${d.name} — deployment status`;
  document.getElementById("title").textContent = d.name;
  const summary = document.getElementById("summary");
  summary.dataset.state = d.state;
  const progress = d.progress || {};
  // Only real changes touch the live region, so screen readers announce just those.
  const set = (id, text) => {
    const node = document.getElementById(id);
    if (node.textContent !== text) node.textContent = text;
  };
  set("state", d.state);
  set("stack-status", d.stack_status || "no stack yet");
  set("template", d.template);
  set("progress", `${progress.nodes_done ?? 0} of ${progress.nodes_total ?? 0} nodes done`);
  set("updated-at", formatTime(d.updated_at));
  const reason = document.getElementById("reason");
  const failed = d.state === "failed";
  reason.hidden = !(failed && d.status_reason);
  set("reason", failed && d.status_reason ? `Failed: ${d.status_reason}` : "");

  const outputs = document.getElementById("outputs");
  const entries = Array.isArray(d.outputs)
    ? d.outputs.map((o) => [o.output_key, o.output_value])
    : Object.entries(d.outputs || {});
  outputs.hidden = !entries.length;
  document.getElementById("outputs-list").replaceChildren(...entries.flatMap(([k, v]) =>
    [el("dt", {}, k), el("dd", {}, typeof v === "string" ? v : JSON.stringify(v))]));
}

async function refresh() {
  let delay = 0;
  const started = Date.now();
  try {
    const answer = await apiGetIfChanged(`/v1/deployments/${encodeURIComponent(deploymentId)}`,
                                         etag, WAIT_S);
    if (answer.status === 304) {
      if (Date.now() - started < 1000) delay = POLL_MS;   // the API did not wait
    } else {
      etag = answer.etag;
      receivedAt = Date.now();
      renderSummary(answer.body);
      await renderFlow(answer.body.nodes || []);
    }
    showError("");
    document.getElementById("polled-at").textContent =
      `Last refreshed ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    delay = POLL_MS;
    showError(error.status === 404 ? `No deployment ${deploymentId} (deleted?)` : error.message);
  } finally {
    setTimeout(refresh, delay);
  }
}

// Running nodes' elapsed time, advanced locally between answers.
function tickClocks() {
  const since = (Date.now() - receivedAt) / 1000;
  for (const box of document.querySelectorAll('#flow .node[data-run-status="running"]')) {
    const clock = box.querySelector(".node-elapsed");
    if (clock && clock.dataset.elapsed !== "") {
      clock.textContent = `elapsed ${formatElapsed(Number(clock.dataset.elapsed) + since)}`;
    }
  }
}

// The latest failover certification (deployer certify): its status and the same text
// table the CLI prints, polled on its own (the list has no long poll).
const CERTIFICATION_POLL_MS = 5000;

function renderCertification(latest) {
  const status = document.getElementById("certification-status");
  const when = document.getElementById("certification-when");
  const reason = document.getElementById("certification-reason");
  const table = document.getElementById("certification-table");
  if (!latest) {
    status.textContent = "not certified";
    status.className = "badge";
    when.textContent = "run deployer certify once the deployment is complete";
    reason.hidden = table.hidden = true;
    return;
  }
  status.textContent = latest.status;
  status.className = `badge certification-${latest.status}`;
  when.textContent = latest.finished_at ? `ended ${formatTime(latest.finished_at)}`
    : latest.started_at ? `started ${formatTime(latest.started_at)}`
    : `requested ${formatTime(latest.requested_at)}`;
  reason.hidden = !latest.reason;
  reason.textContent = latest.reason || "";
  table.hidden = false;
  if (table.textContent !== latest.table) table.textContent = latest.table;
}

async function refreshCertification() {
  try {
    const answer = await apiGet(
      `/v1/deployments/${encodeURIComponent(deploymentId)}/certifications`);
    renderCertification(answer.certifications[0]);
  } catch (_) {
    // the deployment poll shows the API's errors
  } finally {
    setTimeout(refreshCertification, CERTIFICATION_POLL_MS);
  }
}

refresh();
refreshCertification();
setInterval(tickClocks, 1000);
