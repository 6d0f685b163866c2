// The status page: one self-contained HTML document (no external assets) served at `/`, a
// dashboard an operator keeps open. It holds no data itself; it asks for the API token, then reads
// the overview from /api/status, the runs from /api/runs (by kind), the lag of the last hour from
// /api/lag and the secrets one page at a time from /api/secrets, so it sits behind the same auth as
// the API and stays small with 100,000 secrets. Everything it shows is inserted as text
// (textContent) or as SVG attributes it computes, never as HTML. Its one script and one style
// sheet are allowed by their hashes (STATUS_PAGE_CSP): no inline code but these runs. For a config
// with `targets` it adds a table of targets, a target column to runs, mappings and secrets, a
// target filter, and shows each target's held set with its name.
import { createHash } from "node:crypto";

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d232a; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  h1 small { font-weight: normal; color: #57606a; font-size: .8rem; margin-left: .5rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
  th { background: #f5f7f9; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  ul { margin: .2rem 0; padding-left: 1.2rem; }
  .state-in-sync, .good { color: #1a7f37; } .state-failed, .state-conflict, .fatal, .bad { color: #cf222e; }
  .state-pending, .warn { color: #9a6700; } .state-drifted { color: #8250df; } .state-held { color: #bc4c00; }
  .muted { color: #57606a; }
  .error-class { font-family: ui-monospace, monospace; white-space: nowrap; }
  .bar { display: flex; gap: .5rem; align-items: center; margin-bottom: .5rem; flex-wrap: wrap; }
  .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: .6rem; }
  .card { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .75rem; }
  .card h3 { font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; color: #57606a; margin: 0 0 .25rem; }
  .card .big { font-size: 1.15rem; font-weight: 600; }
  .card dl { display: grid; grid-template-columns: auto 1fr; gap: 0 .6rem; margin: 0; }
  .card dt { color: #57606a; } .card dd { margin: 0; overflow-wrap: anywhere; }
  #held { border: 2px solid #bc4c00; padding: .5rem 1rem; margin: 1rem 0; }
  #held-names { max-height: 12rem; overflow: auto; font-family: ui-monospace, monospace; }
  #confirm { border: 2px solid #cf222e; border-radius: 6px; max-width: 32rem; }
  #confirm::backdrop { background: rgb(0 0 0 / 35%); }
  #lag-chart { width: 100%; max-width: 60rem; height: auto; display: block; }
  #error { color: #cf222e; }
  .multi-only { display: none; } body.multi .multi-only { display: revert; }
`;

const SCRIPT = `
(() => {
  const PAGE_SIZE = 100;
  const RUNS_SHOWN = 20;
  const STATES = ["in-sync", "pending", "failed", "drifted", "conflict", "held"];
  const SVG = "http://www.w3.org/2000/svg";
  let token = sessionStorage.getItem("secretbridge-token") || "";
  let held = null;
  let shown = false;
  // The config's targets (null without \`targets\`): the tables then name each row's target.
  let targets = null;
  const view = { page: 1, filter: "", state: "", runKind: "", target: "" };
  // Only the newest request of each kind may paint: a slow answer to an older filter is dropped.
  let secretsRequest = 0;
  let runsRequest = 0;
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

  // Times: relative ("3 min ago", "in 12 min") and in the viewer's own time zone; the ISO time in the tooltip.
  function relative(iso) {
    const ms = Date.parse(iso) - Date.now();
    const s = Math.round(Math.abs(ms) / 1000);
    const text = s < 45 ? s + " s" : s < 90 * 60 ? Math.round(s / 60) + " min" : s < 36 * 3600 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
    return ms >= 0 ? "in " + text : text + " ago";
  }
  function when(iso) {
    if (!iso) return el("span", "never", "muted");
    const node = el("time", relative(iso) + " (" + new Date(iso).toLocaleString() + ")");
    node.dateTime = iso;
    node.title = iso;
    return node;
  }
  function duration(startedAt, finishedAt) {
    const ms = Date.parse(finishedAt) - Date.parse(startedAt);
    if (!(ms >= 0)) return "";
    return ms < 1000 ? ms + " ms" : ms < 120000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms / 60000) + " min";
  }
  const seconds = (s) => (s < 1 ? Number((s * 1000).toPrecision(3)) + " ms" : s.toFixed(s < 10 ? 2 : 0) + " s");

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

  // ---- at a glance ----
  function card(id, title, big, bigClass, pairs) {
    const c = el("section", null, "card");
    c.id = id;
    c.appendChild(el("h3", title));
    if (big != null) c.appendChild(el("div", big, "big" + (bigClass ? " " + bigClass : "")));
    if (pairs && pairs.length) {
      const dl = el("dl");
      for (const [k, v] of pairs) {
        const dd = el("dd");
        if (v instanceof Node) dd.appendChild(v); else dd.textContent = v == null ? "" : String(v);
        dl.append(el("dt", k), dd);
      }
      c.appendChild(dl);
    }
    return c;
  }
  function renderGlance(s) {
    const pending = s.pending || {};
    const activity = [s.running ? "sync running" : "", pending.full ? "full sync queued" : "", pending.paths ? pending.paths + " changed paths queued" : ""].filter(Boolean).join(", ");
    const t = s.target || {};
    const src = s.source || t.source || {};
    const dst = t.destination || {};
    const counts = s.secrets || {};
    const total = STATES.reduce((n, k) => n + (counts[k] || 0), 0);
    const audit = s.audit;
    const tok = s.token;
    $("glance").replaceChildren(
      card("card-health", "Health", s.ready ? "ready" : "not ready", s.ready ? "good" : "bad", [["why", s.ready ? "a full sync succeeded; source and destination usable" : s.reason], ["now", activity || "idle"]]),
      card("card-source", "Source", src.address || "(not known yet)", null, [["mounts", (src.mounts || []).join(", ")], ...(src.namespace ? [["namespace", src.namespace]] : [])]),
      ...(s.targets ? [] : [card("card-destination", "Destination", dst.service || "(not known yet)", null, [["account", account(dst)], ["Region", dst.region || "default"], ["prefixes", (dst.prefixes || []).join(", ")]])]),
      card("card-full", "Full syncs", null, null, [...(s.targets ? [] : [["last good", when(s.lastGoodFullAt)]]), ["next", s.nextFullAt ? when(s.nextFullAt) : el("span", pending.full ? "queued" : "no schedule", "muted")]]),
      card("card-secrets", "Secrets", total, null, STATES.filter((k) => counts[k]).map((k) => [k, counts[k]]).concat([["pending paths", pending.paths || 0]])),
      card("card-audit", "Audit stream", audit ? (audit.connected ? "connected" : "not connected") : "not configured", audit ? (audit.connected ? "good" : "bad") : "muted", audit ? [["connections", audit.connections], ["changes seen", audit.changes]] : []),
      card("card-token", "Source token", tok ? (tok.usable ? "usable" : "expired") : "not kept by the service", tok ? (tok.usable ? "good" : "bad") : "muted", tok ? [["method", tok.method], ["expires", tok.expiresAt ? when(tok.expiresAt) : "never"]] : []),
      card("card-version", "Version", s.version, null, []),
    );
  }

  const account = (dst) => (dst.account == null ? "unknown" + (dst.accountUnknown ? ": " + dst.accountUnknown : "") : dst.account);
  function renderTargets(list) {
    fill("targets", list.map((t) => {
      const dst = t.destination || {};
      const counts = t.secrets || {};
      const total = STATES.reduce((n, k) => n + (counts[k] || 0), 0);
      const problems = STATES.filter((k) => k !== "in-sync" && counts[k]).map((k) => counts[k] + " " + k).join(", ");
      return row(
        [t.name, t.ready ? "ready" : t.reason, dst.service || "(not known yet)", account(dst), dst.region || "default", (dst.prefixes || []).join(", "), when(t.lastGoodFullAt), total + (problems ? " (" + problems + ")" : ""), t.held ? t.held.count + " held" : ""],
        [null, t.ready ? "good" : "bad", null, null, null, null, null, "num", t.held ? "state-held" : null],
      );
    }));
    const names = list.map((t) => t.name);
    const select = $("target-filter");
    if (select.options.length !== names.length + 1 || names.some((n, i) => select.options[i + 1].value !== n)) {
      const all = el("option", "all targets");
      all.value = "";
      select.replaceChildren(all, ...names.map((n) => { const o = el("option", n); o.value = n; return o; }));
      select.value = names.includes(view.target) ? view.target : "";
    }
  }

  function renderHeld(h) {
    held = h || null;
    $("held").hidden = !held;
    if (!held) return;
    $("held-target").textContent = held.target ? "Target " + held.target + ": " : "";
    $("held-reason").textContent = held.reason;
    $("held-at").replaceChildren(when(held.heldAt));
    $("held-id").textContent = held.id;
    const count = held.count == null ? held.names.length : held.count;
    $("held-count").textContent = count + (count === 1 ? " secret" : " secrets");
    const items = held.names.map((n) => el("li", n));
    if (count > held.names.length) items.push(el("li", "… and " + (count - held.names.length) + " more", "muted"));
    $("held-names").replaceChildren(...items);
  }

  // ---- the lag chart: one bar per minute (the slowest write), a line through the means ----
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text != null) node.textContent = String(text);
    return node;
  }
  function renderLag(minutes) {
    const chart = $("lag-chart");
    // The right margin holds the current minute's bar, which starts less than a minute ago.
    const W = 720, H = 200, L = 48, R = 20, T = 10, B = 24;
    const now = Date.now();
    const writes = minutes.reduce((n, m) => n + m.count, 0);
    // An empty hour still gets an axis (0 to 1 s) so the chart reads as "nothing" rather than broken.
    const top = minutes.length ? Math.max(0.001, ...minutes.map((m) => m.max)) : 1;
    // A round ceiling for the axis: 1, 2 or 5 times a power of ten.
    const pow = Math.pow(10, Math.floor(Math.log10(top)));
    const ceil = [1, 2, 5, 10].map((f) => f * pow).find((v) => v >= top);
    const x = (iso) => L + ((60 - (now - Date.parse(iso)) / 60000) / 60) * (W - L - R);
    const y = (v) => T + (1 - v / ceil) * (H - T - B);
    const nodes = [];
    for (const f of [0, 0.5, 1]) {
      nodes.push(svg("line", { x1: L, x2: W - R, y1: y(ceil * f), y2: y(ceil * f), stroke: "#d0d7de" }));
      nodes.push(svg("text", { x: L - 4, y: y(ceil * f) + 4, "text-anchor": "end", "font-size": 11, fill: "#57606a" }, seconds(ceil * f)));
    }
    for (const ago of [60, 45, 30, 15, 0]) {
      const px = L + ((60 - ago) / 60) * (W - L - R);
      nodes.push(svg("text", { x: px, y: H - 6, "text-anchor": ago === 60 ? "start" : ago === 0 ? "end" : "middle", "font-size": 11, fill: "#57606a" }, ago === 0 ? "now" : "-" + ago + " min"));
    }
    const bw = Math.max(2, (W - L - R) / 60 - 2);
    for (const m of minutes) {
      const bar = svg("rect", { class: "lag-bar", x: x(m.at), y: y(m.max), width: bw, height: Math.max(1, y(0) - y(m.max)), fill: "#9ecbff", "data-at": m.at, "data-count": m.count, "data-max": m.max, "data-mean": m.mean });
      bar.appendChild(svg("title", {}, new Date(m.at).toLocaleTimeString() + ": " + m.count + (m.count === 1 ? " write" : " writes") + ", mean " + seconds(m.mean) + ", max " + seconds(m.max)));
      nodes.push(bar);
    }
    for (const m of minutes) nodes.push(svg("circle", { class: "lag-mean-point", cx: x(m.at) + bw / 2, cy: y(m.mean), r: 2.5, fill: "#0969da" }));
    if (minutes.length) nodes.push(svg("polyline", { class: "lag-mean", points: minutes.map((m) => (x(m.at) + bw / 2) + "," + y(m.mean)).join(" "), fill: "none", stroke: "#0969da", "stroke-width": 2 }));
    chart.setAttribute("viewBox", "0 0 " + W + " " + H);
    chart.replaceChildren(...nodes);
    const worst = minutes.length ? Math.max(...minutes.map((m) => m.max)) : 0;
    $("lag-summary").textContent = writes === 0
      ? "No writes in the last hour."
      : writes + (writes === 1 ? " write" : " writes") + " in the last hour; slowest " + seconds(worst) + ". Bars: the slowest write of each minute; line: the mean.";
  }

  async function loadStatus() {
    const res = await api("/api/status");
    if (!res.ok) throw new Error(await reason(res));
    const status = await res.json();
    $("error").textContent = "";
    $("status").hidden = false;
    shown = true;
    $("sync-name").textContent = status.syncName || "";
    $("version").textContent = status.version ? "v" + status.version : "";
    targets = status.targets || null;
    document.body.classList.toggle("multi", Boolean(targets));
    renderGlance(status);
    if (targets) renderTargets(targets);
    fill("mappings", (status.mappings || []).map((m) => row([...(targets ? [m.target] : []), m.label, m.mount, m.path || "(whole mount)", m.prefix + "/"])));
    // Each target holds its own set; the first is shown (approving it shows the next).
    renderHeld(targets ? (targets.find((t) => t.held) || {}).held : status.held);
  }

  async function loadLag() {
    const res = await api("/api/lag");
    if (!res.ok) throw new Error(await reason(res));
    renderLag(await res.json());
  }

  async function loadRuns() {
    const mine = ++runsRequest;
    const query = new URLSearchParams({ limit: String(RUNS_SHOWN) });
    if (view.runKind) query.set("kind", view.runKind);
    const res = await api("/api/runs?" + query);
    if (mine !== runsRequest) return;
    if (!res.ok) { $("runs-info").textContent = "cannot list runs: " + (await reason(res)); return; }
    const runs = await res.json();
    if (mine !== runsRequest) return;
    fill("runs", runs.map((r) => row(
      [...(targets ? [r.target || ""] : []), r.kind, r.trigger || "", when(r.finishedAt), duration(r.startedAt, r.finishedAt), r.exitCode, r.paths == null ? "" : r.paths, r.counts.create, r.counts.update, r.counts.unchanged, r.counts.delete, r.counts.failed, whyCell(r)],
      [...(targets ? [null] : []), null, null, null, "num", "num", "num", "num", "num", "num", "num", "num"],
    )));
    $("runs-info").textContent = runs.length === 0 ? (view.runKind ? "no " + view.runKind + " runs yet" : "no runs yet") : "the last " + runs.length + (view.runKind ? " " + view.runKind : "") + (runs.length === 1 ? " run" : " runs");
  }

  async function loadSecrets() {
    const mine = ++secretsRequest;
    const query = new URLSearchParams({ page: String(view.page), pageSize: String(PAGE_SIZE) });
    if (view.filter) query.set("filter", view.filter);
    if (view.state) query.set("state", view.state);
    if (targets && view.target) query.set("target", view.target);
    const res = await api("/api/secrets?" + query);
    if (mine !== secretsRequest) return;
    if (!res.ok) { $("page-info").textContent = "cannot list secrets: " + (await reason(res)); return; }
    const page = await res.json();
    if (mine !== secretsRequest) return;
    const last = Math.max(1, Math.ceil(page.total / page.pageSize));
    if (page.items.length === 0 && view.page > last) { view.page = last; return loadSecrets(); }
    fill("secrets", page.items.map((s) => row(
      [...(targets ? [s.target] : []), s.name, s.path, s.state, s.version, s.errorClass, s.message, s.mapping, when(s.updatedAt)],
      [...(targets ? [null] : []), null, null, "state-" + s.state, null, "error-class"],
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
    try { await loadStatus(); await Promise.all([loadLag(), loadRuns(), loadSecrets()]); } catch (error) { failed(error); } finally { refreshing = false; }
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
  $("target-filter").addEventListener("change", () => { view.target = $("target-filter").value; view.page = 1; reloadSecrets(); });
  $("run-kind").addEventListener("change", () => { view.runKind = $("run-kind").value; loadRuns().catch(failed); });
  $("prev").addEventListener("click", () => { view.page = Math.max(1, view.page - 1); reloadSecrets(); });
  $("next").addEventListener("click", () => { view.page += 1; reloadSecrets(); });
  $("sync-now").addEventListener("click", async () => {
    try {
      const res = await api("/api/sync", { method: "POST" });
      $("notice").textContent = res.status === 202 ? "sync requested" : "sync refused: " + (await reason(res));
      setTimeout(refresh, 1000);
    } catch (error) { failed(error); }
  });

  // Approving deletes secrets: the button only opens a confirmation naming the set; the dialog's
  // own button sends the approval, for the set that was on screen when it opened.
  let confirming = null;
  $("approve").addEventListener("click", () => {
    if (!held) return;
    confirming = held;
    const count = held.count == null ? held.names.length : held.count;
    $("confirm-text").textContent = "Delete " + count + (count === 1 ? " secret" : " secrets") + " from " + (held.target ? "target " + held.target : "the destination") + " at the next full sync? Set " + held.id + ": " + held.reason;
    $("confirm").showModal();
  });
  $("confirm-cancel").addEventListener("click", () => { confirming = null; $("confirm").close(); });
  $("confirm").addEventListener("cancel", () => { confirming = null; });
  $("confirm-ok").addEventListener("click", async () => {
    const set = confirming;
    confirming = null;
    $("confirm").close();
    if (!set) return;
    $("approve").disabled = true;
    try {
      const res = await api("/api/deletions/approve", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(set.target ? { id: set.id, target: set.target } : { id: set.id }) });
      // Said in the top bar: the panel goes away once the set is approved.
      $("notice").textContent = res.ok ? "deletions approved: they run with the next full sync" : "deletions not approved: " + (await reason(res));
      await refresh();
    } catch (error) { failed(error); } finally { $("approve").disabled = false; }
  });
  if (token) refresh();
  setInterval(() => { if (token && shown) refresh(); }, 5000);
})();
`;

const hash = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** The page's CSP: nothing but its own script and style (by hash) and requests to its own origin. */
export const STATUS_PAGE_CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>secretbridge</title>
<style>${STYLE}</style>
</head>
<body>
<h1>secretbridge <span id="sync-name"></span><small id="version"></small></h1>
<form id="login" class="bar">
  <label for="token">API token</label>
  <input id="token" type="password" autocomplete="off">
  <button type="submit">Show status</button>
</form>
<p id="error" role="alert"></p>
<section id="status" hidden>
  <div class="bar"><button id="sync-now" type="button">Sync now</button><span id="notice" role="status"></span></div>
  <div id="glance" class="cards"></div>
  <section class="multi-only">
    <h2>Targets</h2>
    <table id="targets"><thead><tr><th>Target</th><th>Health</th><th>Destination</th><th>Account</th><th>Region</th><th>Prefixes</th><th>Last good full sync</th><th class="num">Secrets</th><th>Held</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="held" hidden>
    <h2>Deletions held back</h2>
    <p><strong id="held-target"></strong><span id="held-reason"></span></p>
    <p>Held since <span id="held-at"></span> (set <span id="held-id"></span>, <span id="held-count"></span>). Approving deletes exactly these secrets at the next full sync.</p>
    <ul id="held-names"></ul>
    <div class="bar"><button id="approve" type="button">Approve these deletions…</button></div>
  </section>
  <dialog id="confirm" aria-labelledby="confirm-title">
    <h2 id="confirm-title">Approve deletions?</h2>
    <p id="confirm-text"></p>
    <div class="bar"><button id="confirm-ok" type="button">Delete them</button><button id="confirm-cancel" type="button" autofocus>Cancel</button></div>
  </dialog>
  <h2>Propagation lag, last hour</h2>
  <svg id="lag-chart" role="img" aria-labelledby="lag-summary" xmlns="http://www.w3.org/2000/svg"></svg>
  <p id="lag-summary" class="muted"></p>
  <h2>Runs</h2>
  <div class="bar">
    <select id="run-kind" aria-label="filter runs by kind">
      <option value="">all runs</option><option value="full">full syncs</option><option value="targeted">targeted syncs</option>
    </select>
    <span id="runs-info" class="muted"></span>
  </div>
  <table id="runs"><thead><tr><th class="multi-only">Target</th><th>Kind</th><th>Trigger</th><th>Finished</th><th class="num">Took</th><th class="num">Exit</th><th class="num">Paths</th><th class="num">Created</th><th class="num">Updated</th><th class="num">Unchanged</th><th class="num">Deleted</th><th class="num">Failed</th><th>Why it failed</th></tr></thead><tbody></tbody></table>
  <h2>Mappings</h2>
  <table id="mappings"><thead><tr><th class="multi-only">Target</th><th>Mapping</th><th>Source mount</th><th>Path</th><th>Destination prefix</th></tr></thead><tbody></tbody></table>
  <h2>Secrets</h2>
  <div class="bar">
    <input id="filter" placeholder="filter by name or path" aria-label="filter by name or path">
    <select id="state-filter" aria-label="filter by state">
      <option value="">all states</option><option>in-sync</option><option>pending</option><option>failed</option><option>drifted</option><option>conflict</option><option>held</option>
    </select>
    <select id="target-filter" class="multi-only" aria-label="filter by target"><option value="">all targets</option></select>
    <button id="prev" type="button" disabled>Previous</button>
    <span id="page-info"></span>
    <button id="next" type="button" disabled>Next</button>
  </div>
  <table id="secrets"><thead><tr><th class="multi-only">Target</th><th>Destination</th><th>Source path</th><th>State</th><th>Version</th><th>Error class</th><th>Message</th><th>Mapping</th><th>Updated</th></tr></thead><tbody></tbody></table>
</section>
<script>${SCRIPT}</script>
</body>
</html>
`;
