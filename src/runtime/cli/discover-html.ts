// `discover --html FILE`: the inventory as one self-contained HTML file, to read and pass around.
// No external script, style or font; a strict Content-Security-Policy (only this file's own
// script and style, by hash) so nothing in it can load or run anything else. Every path, name,
// key, tag and reason is hostile input: it is escaped into the page as text, never as markup,
// and the script only moves rows around (sort, filter) without reading them as HTML.
import { createHash } from "node:crypto";
import { DESTINATION_STATES, STRATEGIES, type DiscoverReport, type DiscoverRow } from "../../core/discover.js";

/** Text for HTML content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #1d232a; background: #fff; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; }
h2 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
.meta { color: #57606a; margin: 0 0 1rem; }
.cards { display: flex; gap: 1.5rem; flex-wrap: wrap; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .75rem; min-width: 16rem; }
.card table td { padding: .15rem .5rem; border: 0; }
.card button { font: inherit; border: 0; background: none; padding: 0; color: #0969da; cursor: pointer; text-decoration: underline; }
.count { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
.bar { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: 1rem 0 .5rem; position: sticky; top: 0; background: #fff; padding: .4rem 0; }
.bar input { min-width: 22rem; padding: .25rem .4rem; }
#rows { border-collapse: collapse; width: 100%; }
#rows th, #rows td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
#rows th { background: #f5f7f9; white-space: nowrap; }
#rows th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0; cursor: pointer; }
#rows th[aria-sort="ascending"] button::after { content: " \\25B2"; }
#rows th[aria-sort="descending"] button::after { content: " \\25BC"; }
.path, .name, .tags, .keys { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; overflow-wrap: anywhere; }
.date { white-space: nowrap; }
.tags { min-width: 10rem; }
.why { color: #57606a; font-size: 12.5px; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: 12px; font-weight: 600; white-space: nowrap; }
.s-retire { background: #ffebe9; color: #a40e26; } .s-retain { background: #fff8c5; color: #7d4e00; } .s-relocate { background: #dafbe1; color: #116329; }
.d-replicated { background: #dafbe1; color: #116329; } .d-stale { background: #fff8c5; color: #7d4e00; } .d-absent { background: #ddf4ff; color: #0550ae; }
.d-unmanaged, .d-other-sync { background: #fbefff; color: #6f42c1; } .d-conflict { background: #ffebe9; color: #a40e26; }
.d-released { background: #eaeef2; color: #424a53; }
.missing { color: #a40e26; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.problems { border-left: 4px solid #cf222e; padding: .25rem .75rem; }
`;

const SCRIPT = `
(() => {
  const table = document.getElementById("rows");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const text = document.getElementById("filter-text");
  const strategy = document.getElementById("filter-strategy");
  const state = document.getElementById("filter-state");
  const missing = document.getElementById("filter-missing");
  const shown = document.getElementById("shown");
  const haystack = new Map(rows.map((r) => [r, r.textContent.toLowerCase()]));
  function apply() {
    const needle = text.value.trim().toLowerCase();
    let n = 0;
    for (const r of rows) {
      const lacks = !missing.value || (r.dataset.missing !== "" && r.dataset.missing.split("\\n").includes(missing.value));
      const ok = (!strategy.value || r.dataset.strategy === strategy.value) && (!state.value || r.dataset.state === state.value) && lacks && (!needle || haystack.get(r).includes(needle));
      r.hidden = !ok;
      if (ok) n++;
    }
    shown.textContent = n + " of " + rows.length + " secrets shown";
  }
  function cellValue(r, i, numeric) {
    const cell = r.cells[i];
    const raw = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent;
    if (!numeric) return raw;
    return raw === "" ? null : Number(raw);
  }
  for (const th of table.tHead.rows[0].cells) {
    const button = th.querySelector("button");
    if (!button) continue;
    button.addEventListener("click", () => {
      const i = th.cellIndex;
      const numeric = th.dataset.type === "number";
      const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      for (const other of table.tHead.rows[0].cells) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      const sorted = rows.slice().sort((a, b) => {
        const x = cellValue(a, i, numeric);
        const y = cellValue(b, i, numeric);
        if (x === y) return 0;
        if (x === null) return 1;
        if (y === null) return -1;
        return (numeric ? x - y : String(x).localeCompare(String(y))) * dir;
      });
      body.append(...sorted);
    });
  }
  const only = (select, value) => { for (const s of [strategy, state, missing]) s.value = s === select ? value : ""; apply(); };
  for (const b of document.querySelectorAll("[data-set-strategy]")) b.addEventListener("click", () => only(strategy, b.dataset.setStrategy));
  for (const b of document.querySelectorAll("[data-set-state]")) b.addEventListener("click", () => only(state, b.dataset.setState));
  for (const b of document.querySelectorAll("[data-set-missing]")) b.addEventListener("click", () => only(missing, b.dataset.setMissing));
  text.addEventListener("input", apply);
  strategy.addEventListener("change", apply);
  state.addEventListener("change", apply);
  missing.addEventListener("change", apply);
  apply();
})();
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** Only this file's own script and style run; nothing is fetched, framed, submitted or based elsewhere. */
export const DISCOVER_HTML_CSP = `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; img-src 'none'; base-uri 'none'; form-action 'none'`;

type Column = { title: string; type?: "number"; cell: (r: DiscoverRow) => { text: string; value?: string | number | null; cls?: string; title?: string } };

/** A date to read at a glance; the full time in its tooltip and sort value. */
const day = (time: string | null) => ({ text: time?.slice(0, 10) ?? "", value: time ?? "", cls: "date", ...(time ? { title: time } : {}) });

function columns(withSizes: boolean, mounts: number): Column[] {
  return [
    { title: "Path", cell: (r) => ({ text: r.path, cls: "path" }) },
    ...(mounts > 1 ? [{ title: "Mount", cell: (r: DiscoverRow) => ({ text: r.mount, cls: "path" }) }] : []),
    { title: "Version", type: "number", cell: (r) => ({ text: r.currentVersion === null ? (r.state === "released" ? "gone" : "kv1") : String(r.currentVersion), value: r.currentVersion, cls: "num" }) },
    { title: "Kept", type: "number", cell: (r) => ({ text: r.versionCount === null ? "" : String(r.versionCount), value: r.versionCount, cls: "num" }) },
    { title: "Created", cell: (r) => day(r.createdTime) },
    { title: "Updated", cell: (r) => day(r.updatedTime) },
    { title: "Age (days)", type: "number", cell: (r) => ({ text: r.ageDays === null ? "" : String(r.ageDays), value: r.ageDays, cls: "num" }) },
    { title: "Metadata keys", cell: (r) => ({ text: r.customMetadataKeys.join(", "), cls: "keys" }) },
    { title: "Destination", cell: (r) => ({ text: r.destinationName, cls: "name" }) },
    { title: "State", cell: (r) => ({ text: r.state, value: r.state }) },
    { title: "Tags", cell: (r) => ({ text: Object.entries(r.tags).map(([k, v]) => `${k}=${v}`).join("\n"), cls: "tags" }) },
    { title: "Missing tags", cell: (r) => ({ text: r.missingTags.join("\n"), cls: "missing" }) },
    ...(withSizes ? [{ title: "Size (bytes)", type: "number" as const, cell: (r: DiscoverRow) => ({ text: r.sizeBytes == null ? "" : String(r.sizeBytes), value: r.sizeBytes ?? null, cls: "num" }) }] : []),
    { title: "Strategy", cell: (r) => ({ text: r.strategy, value: r.strategy }) },
  ];
}

function td(column: Column, row: DiscoverRow): string {
  const { text, value, cls, title } = column.cell(row);
  const data = value === undefined ? "" : ` data-v="${escapeHtml(value === null ? "" : String(value))}"`;
  const klass = `${cls ? ` class="${cls}"` : ""}${title ? ` title="${escapeHtml(title)}"` : ""}`;
  if (column.title === "State") return `<td${data}><span class="badge d-${escapeHtml(row.state)}">${escapeHtml(row.state)}</span><div class="why">${escapeHtml(row.stateReason)}</div></td>`;
  if (column.title === "Strategy") return `<td${data}><span class="badge s-${escapeHtml(row.strategy)}">${escapeHtml(row.strategy)}</span><div class="why">${escapeHtml(row.strategyReason)}</div></td>`;
  return `<td${klass}${data}>${escapeHtml(text).replace(/\n/g, "<br>")}</td>`;
}

export function renderDiscoverHtml(report: DiscoverReport): string {
  const mounts = [...new Set(report.rows.map((r) => r.mount))];
  const cols = columns(report.withSizes, mounts.length);
  const s = report.summary;
  const summaryRows = (names: readonly string[], counts: Record<string, number>, kind: "strategy" | "state" | "missing") =>
    names
      .map((n) => `<tr><td><button type="button" data-set-${kind}="${escapeHtml(n)}">${escapeHtml(n)}</button></td><td class="count" id="count-${kind}-${escapeHtml(n)}">${counts[n] ?? 0}</td></tr>`)
      .join("\n");
  const options = (names: readonly string[], all: string) => [`<option value="">${all}</option>`, ...names.map((n) => `<option value="${escapeHtml(n)}">${escapeHtml(n)}</option>`)].join("");
  const retain = Object.entries(report.rules.retainWhen).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(" or ") || "(none)";
  const problems =
    report.problems.length > 0
      ? `<section class="problems" id="problems"><h2>Not listed: this inventory is incomplete</h2><ul>${report.problems.map((p) => `<li>[${escapeHtml(p.errorClass)}] ${escapeHtml(p.message)}</li>`).join("")}</ul></section>`
      : "";
  const warnings = report.warnings.length > 0 ? `<section id="warnings"><h2>Warnings</h2><ul>${report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul></section>` : "";
  const missingKeys = Object.keys(s.byMissingTag);
  const missingCard =
    missingKeys.length > 0
      ? `<div class="card"><h2>By missing ABAC tag</h2><table id="by-missing">${summaryRows(missingKeys, s.byMissingTag, "missing")}</table></div>`
      : "";
  const body = report.rows.map((r) => `<tr data-strategy="${escapeHtml(r.strategy)}" data-state="${escapeHtml(r.state)}" data-missing="${escapeHtml(r.missingTags.join("\n"))}">${cols.map((c) => td(c, r)).join("")}</tr>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${DISCOVER_HTML_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>secretbridge discover: ${escapeHtml(report.syncName)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Migration inventory: <span id="sync-name">${escapeHtml(report.syncName)}</span></h1>
<p class="meta">${s.total} source secrets${report.wave === null ? "" : ` of wave <code id="wave">${escapeHtml(report.wave)}</code>`}${mounts.length === 1 ? ` in mount <code>${escapeHtml(mounts[0] ?? "")}</code>` : ""}, ages as of ${escapeHtml(report.asOf)}. Suggested strategy: <b>retain</b> when custom_metadata ${escapeHtml(retain)}; else <b>retire</b> when not updated for ${report.rules.retireAfterDays} days; else <b>relocate</b>. Generated ${escapeHtml(report.generatedAt)} by secretbridge discover${report.withSizes ? " --with-sizes" : ""}: metadata only${report.withSizes ? ", values read for their size" : ", no value read"}.</p>
${problems}
<div class="cards">
<div class="card"><h2>By suggested strategy</h2><table id="by-strategy">${summaryRows(STRATEGIES, s.byStrategy, "strategy")}</table></div>
<div class="card"><h2>By destination state</h2><table id="by-state">${summaryRows(DESTINATION_STATES, s.byState, "state")}</table></div>
${missingCard}
</div>
<div class="bar">
<input id="filter-text" type="search" placeholder="filter: path, destination, tag, reason" aria-label="filter by text">
<select id="filter-strategy" aria-label="filter by strategy">${options(STRATEGIES, "all strategies")}</select>
<select id="filter-state" aria-label="filter by destination state">${options(DESTINATION_STATES, "all states")}</select>
<select id="filter-missing" aria-label="filter by missing tag"${missingKeys.length > 0 ? "" : " hidden"}>${options(missingKeys, "missing tag: any")}</select>
<span id="shown" role="status">${report.rows.length} of ${report.rows.length} secrets shown</span>
</div>
<table id="rows">
<thead><tr>${cols.map((c) => `<th${c.type ? ` data-type="${c.type}"` : ""}><button type="button">${escapeHtml(c.title)}</button></th>`).join("")}</tr></thead>
<tbody>
${body}
</tbody>
</table>
${warnings}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
