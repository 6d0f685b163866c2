// The status page: one self-contained HTML document (no external assets) served at `/`. It holds
// no data itself; it asks for the API token and reads /api/status with it, so it sits behind the
// same auth as the API. Everything it shows is inserted as text, never as HTML.
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
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ea; }
  th { background: #f5f7f9; }
  .state-in-sync { color: #1a7f37; } .state-failed, .state-conflict { color: #cf222e; }
  .state-pending { color: #9a6700; } .state-drifted { color: #8250df; }
  .bar { display: flex; gap: .5rem; align-items: center; margin-bottom: .5rem; }
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
  <div class="bar"><button id="sync-now" type="button">Sync now</button><span id="ready"></span><span id="notice"></span></div>
  <h2>Mappings</h2>
  <table id="mappings"><thead><tr><th>Source mount</th><th>Path</th><th>Destination prefix</th></tr></thead><tbody></tbody></table>
  <h2>Last runs</h2>
  <table id="runs"><thead><tr><th>Kind</th><th>Finished</th><th>Exit</th><th>Created</th><th>Updated</th><th>Unchanged</th><th>Failed</th></tr></thead><tbody></tbody></table>
  <h2>Secrets</h2>
  <div class="bar">
    <input id="filter" placeholder="filter by name" aria-label="filter by name">
    <select id="state-filter" aria-label="filter by state">
      <option value="">all states</option><option>in-sync</option><option>pending</option><option>failed</option><option>drifted</option><option>conflict</option>
    </select>
  </div>
  <table id="secrets"><thead><tr><th>Destination</th><th>Source path</th><th>State</th><th>Version</th><th>Error class</th></tr></thead><tbody></tbody></table>
</section>
<script>
(() => {
  let token = sessionStorage.getItem("secretbridge-token") || "";
  let status = null;
  const $ = (id) => document.getElementById(id);
  const row = (cells, cls) => {
    const tr = document.createElement("tr");
    cells.forEach((text, i) => { const td = document.createElement("td"); td.textContent = text == null ? "" : String(text); if (cls && cls[i]) td.className = cls[i]; tr.appendChild(td); });
    return tr;
  };
  const fill = (id, rows) => { const body = $(id).querySelector("tbody"); body.replaceChildren(...rows); };
  function renderSecrets() {
    const text = $("filter").value.toLowerCase();
    const state = $("state-filter").value;
    const rows = Object.entries(status.secrets)
      .filter(([name, s]) => name.toLowerCase().includes(text) && (!state || s.state === state))
      .map(([name, s]) => row([name, s.path, s.state, s.version, s.errorClass], [null, null, "state-" + s.state]));
    fill("secrets", rows);
  }
  async function load() {
    const res = await fetch("/api/status", { headers: { authorization: "Bearer " + token } });
    if (res.status === 401) { $("error").textContent = "The token was refused."; $("status").hidden = true; return; }
    status = await res.json();
    $("error").textContent = "";
    $("status").hidden = false;
    $("sync-name").textContent = status.syncName || "";
    $("ready").textContent = status.ready ? "ready" : "not ready yet";
    fill("mappings", status.mappings.map((m) => row([m.mount, m.path || "(whole mount)", m.prefix + "/"])));
    fill("runs", status.runs.map((r) => row([r.kind, r.finishedAt, r.exitCode, r.counts.create, r.counts.update, r.counts.unchanged, r.counts.failed])));
    renderSecrets();
  }
  $("login").addEventListener("submit", (e) => { e.preventDefault(); token = $("token").value; sessionStorage.setItem("secretbridge-token", token); load(); });
  $("filter").addEventListener("input", () => status && renderSecrets());
  $("state-filter").addEventListener("change", () => status && renderSecrets());
  $("sync-now").addEventListener("click", async () => {
    const res = await fetch("/api/sync", { method: "POST", headers: { authorization: "Bearer " + token } });
    $("notice").textContent = res.status === 202 ? "sync requested" : "sync refused (" + res.status + ")";
    setTimeout(load, 1000);
  });
  if (token) load();
  setInterval(() => token && status && load(), 5000);
})();
</script>
</body>
</html>
`;
