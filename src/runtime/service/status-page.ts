// The status page: one self-contained HTML document (no external assets) served at `/`. It holds
// no data itself; it asks for the API token, reads the overview from /api/status and the secrets
// one page at a time from /api/secrets (filter and state are applied by the server), so it sits
// behind the same auth as the API and stays small with 100,000 secrets. Everything it shows is
// inserted as text (textContent), never as HTML.
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>secretbridge</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d232a; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
  th { background: #f5f7f9; }
  ul { margin: .2rem 0; padding-left: 1.2rem; }
  .state-in-sync { color: #1a7f37; } .state-failed, .state-conflict, .fatal { color: #cf222e; }
  .state-pending { color: #9a6700; } .state-drifted { color: #8250df; } .state-held { color: #bc4c00; }
  .error-class { font-family: ui-monospace, monospace; white-space: nowrap; }
  .bar { display: flex; gap: .5rem; align-items: center; margin-bottom: .5rem; flex-wrap: wrap; }
  #held { border: 2px solid #bc4c00; padding: .5rem 1rem; margin: 1rem 0; }
  #held-names { max-height: 12rem; overflow: auto; font-family: ui-monospace, monospace; }
  #error { color: #cf222e; }
</style>
</head>
<body>
<h1>secretbridge <span id="sync-name"></span></h1>
<form id="login" class="bar">
  <label for="token">API token</label>
  <input id="token" type="password" autocomplete="off">
  <button type="submit">Show status</button>
</form>
<p id="error" role="alert"></p>
<section id="status" hidden>
  <div class="bar"><button id="sync-now" type="button">Sync now</button><span id="ready"></span><span id="activity"></span><span id="notice" role="status"></span></div>
  <section id="held" hidden>
    <h2>Deletions held back</h2>
    <p id="held-reason"></p>
    <p>Held since <span id="held-at"></span> (set <span id="held-id"></span>). Approving deletes exactly these secrets at the next full sync.</p>
    <ul id="held-names"></ul>
    <div class="bar"><button id="approve" type="button">Approve these deletions</button></div>
  </section>
  <h2>Mappings</h2>
  <table id="mappings"><thead><tr><th>Mapping</th><th>Source mount</th><th>Path</th><th>Destination prefix</th></tr></thead><tbody></tbody></table>
  <h2>Last runs</h2>
  <table id="runs"><thead><tr><th>Kind</th><th>Finished</th><th>Exit</th><th>Created</th><th>Updated</th><th>Unchanged</th><th>Deleted</th><th>Failed</th><th>Why it failed</th></tr></thead><tbody></tbody></table>
  <h2>Secrets</h2>
  <div class="bar">
    <input id="filter" placeholder="filter by name or path" aria-label="filter by name or path">
    <select id="state-filter" aria-label="filter by state">
      <option value="">all states</option><option>in-sync</option><option>pending</option><option>failed</option><option>drifted</option><option>conflict</option><option>held</option>
    </select>
    <button id="prev" type="button" disabled>Previous</button>
    <span id="page-info"></span>
    <button id="next" type="button" disabled>Next</button>
  </div>
  <table id="secrets"><thead><tr><th>Destination</th><th>Source path</th><th>State</th><th>Version</th><th>Error class</th><th>Message</th><th>Mapping</th><th>Updated</th></tr></thead><tbody></tbody></table>
</section>
<script>
(() => {
  const PAGE_SIZE = 100;
  let token = sessionStorage.getItem("secretbridge-token") || "";
  let held = null;
  let shown = false;
  const view = { page: 1, filter: "", state: "" };
  // Only the newest secrets request may paint: a slow answer to an older filter is dropped.
  let secretsRequest = 0;
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  };
  const row = (cells, classes) => {
    const tr = document.createElement("tr");
    cells.forEach((cell, i) => {
      const td = document.createElement("td");
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell == null ? "" : String(cell);
      if (classes && classes[i]) td.className = classes[i];
      tr.appendChild(td);
    });
    return tr;
  };
  const fill = (id, rows) => $(id).querySelector("tbody").replaceChildren(...rows);

  class SignedOut extends Error {}
  async function api(path, init) {
    const res = await fetch(path, { ...(init || {}), headers: { authorization: "Bearer " + token, ...((init && init.headers) || {}) } });
    if (res.status === 401) {
      $("error").textContent = "The token was refused.";
      $("status").hidden = true;
      shown = false;
      throw new SignedOut();
    }
    return res;
  }
  async function reason(res) {
    try { const body = await res.json(); return body.error ? String(body.error) + (body.problem ? ": " + body.problem : "") : "HTTP " + res.status; } catch { return "HTTP " + res.status; }
  }
  function failed(error) {
    if (!(error instanceof SignedOut)) $("error").textContent = "The service did not answer: " + error.message;
  }

  function whyCell(r) {
    if (r.fatal) {
      const p = el("span", null, "fatal");
      p.append(el("span", r.fatal.errorClass, "error-class"), document.createTextNode(": " + r.fatal.message));
      return p;
    }
    const failures = r.failures || [];
    if (failures.length === 0) return "";
    const details = el("details");
    const more = r.counts && r.counts.failed > failures.length ? " (first " + failures.length + " of " + r.counts.failed + ")" : "";
    details.appendChild(el("summary", failures.length + (failures.length === 1 ? " failure" : " failures") + more));
    const list = el("ul");
    for (const f of failures) {
      const li = el("li", null, "failure");
      li.append(el("span", f.destinationName || f.path, "name"), document.createTextNode(": "), el("span", f.errorClass, "error-class"), document.createTextNode(": "), el("span", f.message, "message"));
      list.appendChild(li);
    }
    details.appendChild(list);
    return details;
  }

  function renderHeld(h) {
    held = h || null;
    $("held").hidden = !held;
    if (!held) return;
    $("held-reason").textContent = held.reason;
    $("held-at").textContent = held.heldAt;
    $("held-id").textContent = held.id;
    $("held-names").replaceChildren(...held.names.map((n) => el("li", n)));
  }

  async function loadStatus() {
    const res = await api("/api/status");
    if (!res.ok) throw new Error(await reason(res));
    const status = await res.json();
    // The summary may come nested or spread beside syncName: read it either way.
    const summary = status.summary || status;
    $("error").textContent = "";
    $("status").hidden = false;
    shown = true;
    $("sync-name").textContent = status.syncName || "";
    $("ready").textContent = summary.ready ? "ready" : "not ready: " + (summary.reason || "no successful full sync yet");
    const pending = summary.pending || {};
    $("activity").textContent = [summary.running ? "sync running" : "", pending.full ? "full sync queued" : "", pending.paths ? pending.paths + " changed paths queued" : ""].filter(Boolean).join(", ");
    fill("mappings", (status.mappings || []).map((m) => row([m.label, m.mount, m.path || "(whole mount)", m.prefix + "/"])));
    fill("runs", (status.runs || []).map((r) => row([r.kind, r.finishedAt, r.exitCode, r.counts.create, r.counts.update, r.counts.unchanged, r.counts.delete, r.counts.failed, whyCell(r)])));
    renderHeld(summary.held);
  }

  async function loadSecrets() {
    const mine = ++secretsRequest;
    const query = new URLSearchParams({ page: String(view.page), pageSize: String(PAGE_SIZE) });
    if (view.filter) query.set("filter", view.filter);
    if (view.state) query.set("state", view.state);
    const res = await api("/api/secrets?" + query);
    if (mine !== secretsRequest) return;
    if (!res.ok) { $("page-info").textContent = "cannot list secrets: " + (await reason(res)); return; }
    const page = await res.json();
    if (mine !== secretsRequest) return;
    const last = Math.max(1, Math.ceil(page.total / page.pageSize));
    if (page.items.length === 0 && view.page > last) { view.page = last; return loadSecrets(); }
    fill("secrets", page.items.map((s) => row(
      [s.name, s.path, s.state, s.version, s.errorClass, s.message, s.mapping, s.updatedAt],
      [null, null, "state-" + s.state, null, "error-class"],
    )));
    const from = (page.page - 1) * page.pageSize + 1;
    $("page-info").textContent = page.total === 0
      ? (view.filter || view.state ? "no secrets match" : "no secrets yet")
      : from + "–" + (from + page.items.length - 1) + " of " + page.total + " (page " + page.page + " of " + last + ")";
    $("prev").disabled = page.page <= 1;
    $("next").disabled = page.page >= last;
  }

  let refreshing = false;
  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try { await loadStatus(); await loadSecrets(); } catch (error) { failed(error); } finally { refreshing = false; }
  }
  const reloadSecrets = () => loadSecrets().catch(failed);

  $("login").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value;
    sessionStorage.setItem("secretbridge-token", token);
    refresh();
  });
  let debounce;
  $("filter").addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { view.filter = $("filter").value.trim(); view.page = 1; reloadSecrets(); }, 300);
  });
  $("state-filter").addEventListener("change", () => { view.state = $("state-filter").value; view.page = 1; reloadSecrets(); });
  $("prev").addEventListener("click", () => { view.page = Math.max(1, view.page - 1); reloadSecrets(); });
  $("next").addEventListener("click", () => { view.page += 1; reloadSecrets(); });
  $("sync-now").addEventListener("click", async () => {
    try {
      const res = await api("/api/sync", { method: "POST" });
      $("notice").textContent = res.status === 202 ? "sync requested" : "sync refused: " + (await reason(res));
      setTimeout(refresh, 1000);
    } catch (error) { failed(error); }
  });
  $("approve").addEventListener("click", async () => {
    if (!held) return;
    $("approve").disabled = true;
    try {
      const res = await api("/api/deletions/approve", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: held.id }) });
      // Said in the top bar: the panel goes away once the set is approved.
      $("notice").textContent = res.ok ? "deletions approved: they run with the next full sync" : "deletions not approved: " + (await reason(res));
      await refresh();
    } catch (error) { failed(error); } finally { $("approve").disabled = false; }
  });
  if (token) refresh();
  setInterval(() => { if (token && shown) refresh(); }, 5000);
})();
</script>
</body>
</html>
`;
