// Renders a discover report for a terminal (table), for machines (JSON) and for spreadsheets
// (CSV). Paths, names, metadata keys and tags are hostile input: the table escapes control
// characters (a key holding a terminal escape sequence must not repaint the screen), the CSV
// quotes per RFC 4180 and neutralises cells a spreadsheet would run as a formula.
import type { ChecklistRow } from "../../core/checklist.js";
import { DESTINATION_STATES, STRATEGIES, type DiscoverReport, type DiscoverRow } from "../../core/discover.js";
import { table } from "./output.js";

/** Control characters (C0, DEL, C1) as \uXXXX: what a terminal would otherwise act on. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function tagsText(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");
}

function versionText(row: DiscoverRow): string {
  // A released secret whose source is gone has no source version left.
  if (row.currentVersion === null) return row.state === "released" ? "gone" : "kv1";
  return row.versionCount === null ? String(row.currentVersion) : `${row.currentVersion} (${row.versionCount} kept)`;
}

const dateOf = (time: string | null) => (time ? time.slice(0, 10) : "-");

export function renderDiscoverTable(report: DiscoverReport): string {
  const sizes = report.withSizes;
  const head = ["STRATEGY", "STATE", "PATH", "VERSION", "UPDATED", "AGE", "METADATA KEYS", "DESTINATION", "TAGS", "MISSING TAGS", ...(sizes ? ["SIZE"] : []), "WHY"];
  const rows = [head];
  for (const r of report.rows) {
    rows.push(
      [
        r.strategy,
        r.state,
        r.path,
        versionText(r),
        dateOf(r.updatedTime),
        r.ageDays === null ? "-" : `${r.ageDays}d`,
        r.customMetadataKeys.join(",") || "-",
        r.destinationName || "-",
        tagsText(r.tags) || "-",
        r.missingTags.join(",") || "-",
        ...(sizes ? [r.sizeBytes == null ? "-" : `${r.sizeBytes} B`] : []),
        r.strategyReason,
      ].map(printable),
    );
  }
  return rows.length > 1 ? table(rows) : "(no secrets in scope)";
}

export function renderDiscoverSummary(report: DiscoverReport): string {
  const s = report.summary;
  const counts = (names: readonly string[], of: Record<string, number>) => names.map((n) => `${of[n] ?? 0} ${n}`).join(", ");
  const missing = Object.keys(s.byMissingTag);
  const lines = [
    `Discover ${report.syncName}${report.wave === null ? "" : printable(` (wave ${report.wave})`)}: ${s.total} secrets; strategy: ${counts(STRATEGIES, s.byStrategy)}; destination: ${counts(DESTINATION_STATES, s.byState)}${missing.length > 0 ? printable(`; missing tags: ${counts(missing, s.byMissingTag)}`) : ""}`,
  ];
  const unsettled = report.rows.filter((r) => r.state === "conflict" || r.state === "unmanaged" || r.state === "other-sync");
  if (unsettled.length > 0) {
    lines.push("Destination names not free to write:");
    for (const r of unsettled) lines.push(printable(`  - ${r.path} -> ${r.destinationName || "(no name)"}: ${r.state}: ${r.stateReason}`));
  }
  if (report.problems.length > 0) {
    lines.push("Not listed (the inventory is incomplete):");
    for (const p of report.problems) lines.push(printable(`  - [${p.errorClass}] ${p.message}`));
  }
  if (report.warnings.length > 0) {
    lines.push("Warnings:");
    for (const w of report.warnings) lines.push(printable(`  - ${w}`));
  }
  return lines.join("\n");
}

export function renderDiscoverJson(report: DiscoverReport): string {
  return JSON.stringify(report, null, 2);
}

export const CSV_COLUMNS = [
  "mapping",
  "mount",
  "path",
  "current_version",
  "version_count",
  "created_time",
  "updated_time",
  "age_days",
  "custom_metadata_keys",
  "destination",
  "state",
  "state_reason",
  "tags",
  "missing_tags",
  "strategy",
  "strategy_reason",
] as const;

/**
 * One CSV cell: a text a spreadsheet would take for a formula (= + - @, or a tab or carriage
 * return before one) gets a leading apostrophe, as OWASP advises; then RFC 4180 quoting.
 */
export function csvCell(value: string | number | null | undefined): string {
  let text = value === null || value === undefined ? "" : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180: CRLF line ends, a header row, every row the same columns. */
export function renderDiscoverCsv(report: DiscoverReport): string {
  const header = [...CSV_COLUMNS, ...(report.withSizes ? ["size_bytes"] : [])];
  const lines = [header.join(",")];
  for (const r of report.rows) {
    const cells: (string | number | null | undefined)[] = [
      r.mapping,
      r.mount,
      r.path,
      r.currentVersion,
      r.versionCount,
      r.createdTime,
      r.updatedTime,
      r.ageDays,
      r.customMetadataKeys.join("; "),
      r.destinationName,
      r.state,
      r.stateReason,
      tagsText(r.tags),
      r.missingTags.join("; "),
      r.strategy,
      r.strategyReason,
      ...(report.withSizes ? [r.sizeBytes] : []),
    ];
    lines.push(cells.map(csvCell).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** A checklist row with the destination's access and usage facts, as `discover --checklist` prints it. */
export interface ChecklistEntry extends ChecklistRow {
  /** Principals the --abac-policy allows to read it by its tags; null without a policy. */
  readers: string[] | null;
  /** Principals whose policy uses what is not evaluated (named with why). */
  readersUnknown: string[];
  cloudTrail: { lookupEvents: string; lakeSql: string } | null;
  ready: boolean;
}

export interface ChecklistReport {
  format: "secretbridge-checklist/1";
  syncName: string;
  selection: { paths: string[]; wave: string | null };
  abacPolicy: string | null;
  rows: ChecklistEntry[];
  problems: DiscoverReport["problems"];
  /** 0: every row ready; 1: some row not ready, or the listing was incomplete. */
  exitCode: 0 | 1;
}

export function renderChecklistTable(report: ChecklistReport): string {
  const rows = [["READY", "PATH", "DESTINATION", "EXISTS", "STATE", "TAGS", "VERSION", ...(report.abacPolicy ? ["READERS (ABAC)"] : [])]];
  for (const r of report.rows) {
    rows.push([
      r.ready ? "yes" : "no",
      printable(r.path),
      printable(r.destinationName),
      r.exists ? "yes" : "no",
      r.state,
      r.missingTags.length === 0 ? "ok" : `missing ${r.missingTags.map(printable).join(",")}`,
      r.versionMatches ? `ok (${r.sourceVersion})` : `source ${r.sourceVersion}, destination ${r.replicatedVersion ?? "-"}`,
      ...(report.abacPolicy ? [[...(r.readers ?? []), ...r.readersUnknown.map((u) => `? ${u}`)].map(printable).join(", ") || "none"] : []),
    ]);
  }
  const lines = [rows.length > 1 ? table(rows) : "(no secrets selected)"];
  const ready = report.rows.filter((r) => r.ready).length;
  lines.push(`Checklist ${report.syncName}: ${ready} of ${report.rows.length} ready`);
  const queried = report.rows.filter((r) => r.cloudTrail);
  if (queried.length > 0) {
    lines.push("", "Who reads them already (CloudTrail event history, last 90 days):");
    for (const r of queried) lines.push(`  ${printable(r.destinationName)}: ${r.cloudTrail?.lookupEvents ?? ""}`);
    lines.push("", "CloudTrail Lake (GetSecretValue by ARN or name), e.g.:", `  ${queried[0]?.cloudTrail?.lakeSql ?? ""}`);
  }
  for (const p of report.problems) lines.push(`Problem: [${p.errorClass}] ${printable(p.message)}`);
  return lines.join("\n");
}
