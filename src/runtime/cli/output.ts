// Renders plans and reports for people (tables) and machines (JSON). Values are never part of a
// report, so nothing here can print one; this is the only module allowed to write to stdout.
import type { PlannedAction } from "../../core/model.js";
import type { Failure, PrintedReport, RunReport } from "../../engine/report.js";
import type { VerifyReport } from "../../engine/verify.js";
import type { RunTarget } from "../wire.js";

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
};

/**
 * Rows as aligned columns (the last column unpadded), widths in code points, in pieces of at most
 * `linesPerPiece` lines: an initial sync of 100,000 secrets prints 100,000 rows, and one string of
 * them (13 MB, and its copy on the way to stdout) was the peak of that run's memory. `rows` is
 * called twice: once for the widths, taken in a loop (spreading every cell into one Math.max call
 * overflows the stack from about 125,000 rows), once for the lines.
 */
export function* tableChunks(rows: () => Iterable<string[]>, linesPerPiece = 1000): Generator<string> {
  const widths: number[] = [];
  for (const row of rows()) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, codePoints(cell))));
  let lines: string[] = [];
  for (const r of rows()) {
    lines.push(r.map((cell, i) => (i === r.length - 1 ? cell : cell + " ".repeat(Math.max(0, (widths[i] ?? 0) - codePoints(cell))))).join("  ").trimEnd());
    if (lines.length === linesPerPiece) {
      yield lines.join("\n");
      lines = [];
    }
  }
  if (lines.length > 0) yield lines.join("\n");
}

/** A small table as one string (see `tableChunks`). */
export function table(rows: string[][]): string {
  return [...tableChunks(() => rows)].join("\n");
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function versionCell(a: PlannedAction): string {
  if (a.type === "delete" || a.type === "orphan" || (a.type === "skip" && a.sourceVersion === null && a.destinationVersion !== undefined) || (a.type === "released" && a.sourceVersion === null)) return a.destinationVersion ?? "-";
  const to = a.sourceVersion === null ? "kv1" : String(a.sourceVersion);
  if (a.type === "update" && a.destinationVersion !== undefined && a.destinationVersion !== to) return `${a.destinationVersion} -> ${to}`;
  return to;
}

function* actionRows(report: RunReport, includeUnchanged: boolean): Generator<string[]> {
  yield ["ACTION", "SOURCE PATH", "DESTINATION", "VERSION", "RESULT", "REASON"];
  for (const r of report.results) {
    if (!includeUnchanged && r.action.type === "unchanged") continue;
    yield [r.action.type, r.action.sourcePath, r.action.destinationName, versionCell(r.action), r.outcome, r.action.reason];
  }
}

/** The table of a run's actions, in pieces of lines (`tableChunks`): what `plan` and `sync` print. */
export function* renderActionsChunks(report: RunReport, includeUnchanged: boolean): Generator<string> {
  if (report.results.some((r) => includeUnchanged || r.action.type !== "unchanged")) {
    yield* tableChunks(() => actionRows(report, includeUnchanged));
    return;
  }
  const unchanged = report.counts.unchanged;
  yield unchanged > 0 ? `(nothing to do: ${unchanged} unchanged; --all lists them)` : "(no secrets in scope)";
}

export function renderActions(report: RunReport, includeUnchanged: boolean): string {
  return [...renderActionsChunks(report, includeUnchanged)].join("\n");
}

/** A failure's message, which names its secret (path or destination name); prefixed with the path when it does not. */
function failureText(f: Failure): string {
  const named = f.message.includes(f.path) || (f.destinationName !== undefined && f.message.includes(f.destinationName));
  return named || !f.path ? f.message : `${f.path}: ${f.message}`;
}

/** `named`: the config lists targets, so the summary says which one it is about. */
export function renderSummary(report: RunReport, named = false): string {
  const c = report.counts;
  const verb = report.command ? `${report.command === "release" ? "Release" : "Adopt"}${report.mode === "plan" ? " (dry run)" : ""}` : report.mode === "plan" ? "Plan" : "Sync";
  const created = report.mode === "plan" ? "to create" : "created";
  const updated = report.mode === "plan" ? "to update" : "updated";
  const planned = report.mode === "plan";
  const lifecycle = [
    c.restore ? `${c.restore} ${planned ? "to restore" : "restored"}` : "",
    c.adopt ? `${c.adopt} ${planned ? "to adopt" : "adopted"}` : "",
    c.drift ? `${c.drift} drifted` : "",
    c.orphan ? `${c.orphan} ${planned ? "to mark orphaned" : "marked orphaned"}` : "",
    c.delete ? `${c.delete} ${planned ? "to delete" : "deleted"}` : "",
    c.release ? `${c.release} ${planned ? "to release" : "released now"}` : "",
    c.reclaim ? `${c.reclaim} ${planned ? "to take back" : "taken back"}` : "",
    c.released ? `${c.released} released (left alone)` : "",
    c.deferred ? `${c.deferred} deferred` : "",
  ].filter(Boolean);
  const lines = [
    `${verb} ${report.syncName}${named ? ` (target ${report.target})` : ""}: ${c.create} ${created}, ${c.update} ${updated}, ${c.unchanged} unchanged, ${c.conflict} conflicts, ${c.skip} skipped, ${c.failed} failures${lifecycle.map((x) => `, ${x}`).join("")} (${report.durationMs} ms, source listing: ${report.sourceMethod ?? "n/a"})`,
  ];
  if (report.failures.length > 0) {
    lines.push("Failures:");
    for (const f of report.failures) lines.push(`  - [${f.errorClass}] ${failureText(f)}`);
  }
  if (report.warnings.length > 0) {
    lines.push("Warnings:");
    for (const w of report.warnings) lines.push(`  - ${w}`);
  }
  for (const n of report.notifications?.failed ?? []) lines.push(`Notification via ${n.kind} failed: ${n.message}`);
  return lines.join("\n");
}

/**
 * JSON for machines when a command could not do its job (exit 2): what went wrong, by class. A
 * message never carries a value (errors are built from names, paths and status codes).
 */
export function renderError(error: { class: string; message: string }, exitCode: number, target?: RunTarget): string {
  return JSON.stringify({ error, exitCode, ...(target ? { target } : {}) }, null, 2);
}

/** The report (it holds no values) with its writes' tags and tokens, the run's target first: its name is the target's. */
function reportDocument(report: PrintedReport, target: RunTarget): object {
  const { target: _name, ...rest } = report;
  return { target, ...rest };
}

/** JSON for machines: the report with its writes' tags and tokens (`withWriteFields`), the run's target (name, source, destination) first. */
export function renderJson(report: PrintedReport, target: RunTarget): string {
  return JSON.stringify(reportDocument(report, target), null, 2);
}

/** How one target of a config with `targets` ended: its report, or why it could not run. */
export type TargetOutcome<R extends RunReport | PrintedReport = RunReport> = { target: RunTarget; report: R } | { target: RunTarget; error: { class: string; message: string } };

/** The worst exit code of the targets: each one's report, 2 for one that could not run. */
export function worstExitCode(outcomes: TargetOutcome<RunReport | PrintedReport>[]): number {
  return Math.max(0, ...outcomes.map((o) => ("report" in o ? o.report.exitCode : 2)));
}

/**
 * JSON for a config with `targets`: one document, each target's entry shaped as a one-target run's
 * document (its report, or its error object), and the exit code that covers them all.
 */
export function renderTargetsJson(syncName: string, mode: string, outcomes: TargetOutcome<PrintedReport>[]): string {
  const entries = outcomes.map((o) => ("report" in o ? reportDocument(o.report, o.target) : { target: o.target, error: o.error, exitCode: 2 }));
  return JSON.stringify({ syncName, mode, exitCode: worstExitCode(outcomes), targets: entries }, null, 2);
}

/** The line that says a target could not run, in its block of a command's output. */
export function renderTargetFailure(name: string, error: { class: string; message: string }): string {
  return `Target ${name} could not run: [${error.class}] ${error.message}`;
}

/**
 * One target's block for people, in pieces of lines: its name, where it reads and writes, then its
 * table (`renderActionsChunks`) and summary, or its error.
 */
export function* renderTargetBlockChunks(outcome: TargetOutcome, includeUnchanged: boolean): Generator<string> {
  yield `Target ${outcome.target.name}\n${renderTarget(outcome.target)}`;
  if ("error" in outcome) {
    yield renderTargetFailure(outcome.target.name, outcome.error);
    return;
  }
  yield* renderActionsChunks(outcome.report, includeUnchanged);
  yield renderSummary(outcome.report, true);
}

/** The last line of a run over targets: each target's exit code, and the class of one that could not run. */
export function renderTargetsOutcome(outcomes: TargetOutcome[]): string {
  const each = outcomes.map((o) => ("error" in o ? `${o.target.name} exit 2 [${o.error.class}]` : `${o.target.name} exit ${o.report.exitCode}`));
  return `Targets: ${each.join(", ")}; exit ${worstExitCode(outcomes)}`;
}

/** The lines printed before a plan or a run's table: where it reads and where it writes. */
export function renderTarget(target: RunTarget): string {
  const list = (one: string, many: string, items: string[]) => `${items.length === 1 ? one : many} ${items.join(", ")}`;
  const s = target.source;
  const d = target.destination;
  return [
    `Source: ${s.address}${s.namespace ? `, namespace ${s.namespace}` : ""}, ${list("mount", "mounts", s.mounts)}`,
    `Destination: ${d.service}, account ${d.account ?? `unknown (${d.accountUnknown ?? "?"})`}, Region ${d.region ?? "unknown"}, ${list("prefix", "prefixes", d.prefixes)}`,
  ].join("\n");
}

export function renderVerify(report: VerifyReport): string {
  const rows = [["VERDICT", "SOURCE PATH", "DESTINATION", "DETAIL"]];
  for (const e of report.entries) rows.push([e.verdict, e.sourcePath, e.destinationName, e.detail ?? ""]);
  const c = report.counts;
  const summary = `Verify ${report.syncName}: ${c["in-sync"]} in sync, ${c.differs} differ, ${c.missing} missing, ${c["not-ours"]} not ours, ${c.extra} extra, ${c.unreadable} unreadable${c.released ? `, ${c.released} released` : ""}`;
  return `${rows.length > 1 ? table(rows) : "(no secrets in scope)"}\n${summary}`;
}
