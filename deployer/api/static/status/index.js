// The list of deployments, newest first, asked for every 5 s with If-None-Match
// (an unchanged list is a 304 with no body, and nothing is redrawn).
"use strict";

const LIST_POLL_MS = 5000;
let listTimer = null;
let listEtag = null;
let listQuery = null;

async function refreshList() {
  clearTimeout(listTimer);
  try {
    const status = document.getElementById("status-filter").value;
    const query = new URLSearchParams({ limit: "100" });
    if (status) query.set("status", status);
    if (String(query) !== listQuery) listEtag = null;
    listQuery = String(query);
    const answer = await apiGetIfChanged(`/v1/deployments?${query}`, listEtag);
    if (answer.status === 304) {
      showError("");
      return;
    }
    listEtag = answer.etag;
    const page = answer.body;
    const rows = page.deployments.map((d) =>
      el("tr", { "data-id": d.id, "data-state": d.state },
        el("td", {}, el("a", { href: `/status/${encodeURIComponent(d.id)}` }, d.name)),
        el("td", {}, d.template),
        el("td", {}, el("span", { class: `badge state-${d.state}` }, d.state)),
        el("td", {}, d.stack_status || "–"),
        el("td", {}, d.status_reason || ""),
        el("td", {}, formatTime(d.updated_at))));
    document.getElementById("deployments").replaceChildren(...rows);
    document.getElementById("empty").hidden = rows.length > 0;
    document.getElementById("more").hidden = !page.next_marker;
    showError("");
  } catch (error) {
    showError(error.message);
  } finally {
    listTimer = setTimeout(refreshList, LIST_POLL_MS);
  }
}

document.getElementById("status-filter").addEventListener("change", () => refreshList());
refreshList();
