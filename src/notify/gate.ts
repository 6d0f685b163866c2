// De-duplication of failure notices for `secretbridge serve`, which runs every few minutes and
// would otherwise send the same failures on every run. A failure is identified by its path and
// error class (messages vary from run to run); the same set is sent again only after a window,
// and a "recovered" notice is sent once when the failures clear. Pure state, clock injectable.
//
// Only the service uses a gate: the CLI and the Lambda are one process per run with no memory of
// the previous one, so they keep sending on every failing run (notifyRun without a gate).
import { displayPath } from "../core/paths.js";
import { noticeFor, type FailureNotice, type ReportForNotice } from "./notifier.js";

export interface NotificationGateOptions {
  /** An identical failure set is sent again after this long at the earliest; 0 sends every failing run. */
  repeatAfterMs: number;
  /** Milliseconds since the epoch; default Date.now (tests pass a fake clock). */
  now?: () => number;
}

export type GateDecision =
  /** A failure notice: failures nobody was told about ("new", "changed") or the window passed ("repeat"). */
  | { kind: "send"; reason: "new" | "changed" | "repeat"; notice: FailureNotice }
  /** Same failure set as the last notice, within the window: send nothing. */
  | { kind: "suppress"; resendAfter: string }
  /** There were failures and now there are none: send this once. */
  | { kind: "recovered"; notice: FailureNotice }
  /** Nothing failing now or before (or a `plan` run): nothing to send. */
  | { kind: "none" };

export interface GateCounts {
  sent: number;
  suppressed: number;
  recovered: number;
}

export class NotificationGate {
  /** The failures still standing, by `path \0 errorClass`; `fatal`: from a run that stopped before writing. */
  private readonly outstanding = new Map<string, { path: string; fatal: boolean }>();
  private lastSent: { set: string; at: number } | undefined;
  private readonly counters: GateCounts = { sent: 0, suppressed: 0, recovered: 0 };
  private readonly now: () => number;

  constructor(private readonly options: NotificationGateOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Records a run and says what to send for it. `targets`: the paths a targeted (push) run
   * covered; its failures then replace only those paths' outstanding failures, so a targeted run
   * that succeeds does not claim that failures elsewhere recovered. Without it the run is a full
   * run and its failures are the whole set. A notice lists the failures of the run it is for.
   */
  decide(report: ReportForNotice, targets?: readonly { path: string }[]): GateDecision {
    if (report.mode !== "sync") return { kind: "none" };
    const hadFailures = this.outstanding.size > 0;
    if (targets) {
      const covered = new Set(targets.map((t) => displayPath(t.path)));
      for (const [key, entry] of this.outstanding) {
        // A run that got past validation shows the source and destination are usable again.
        if (covered.has(entry.path) || (entry.fatal && !report.fatal)) this.outstanding.delete(key);
      }
    } else {
      this.outstanding.clear();
    }
    for (const f of report.failures) this.outstanding.set(failureKey(f), { path: f.path, fatal: Boolean(report.fatal) });

    if (report.failures.length === 0) {
      if (!hadFailures || this.outstanding.size > 0) return { kind: "none" };
      this.lastSent = undefined;
      this.counters.recovered += 1;
      return { kind: "recovered", notice: noticeFor(report, "recovered") };
    }
    const set = [...this.outstanding.keys()].sort().join("\u0001");
    const now = this.now();
    if (this.lastSent?.set === set && now - this.lastSent.at < this.options.repeatAfterMs) {
      this.counters.suppressed += 1;
      return { kind: "suppress", resendAfter: new Date(this.lastSent.at + this.options.repeatAfterMs).toISOString() };
    }
    const reason = this.lastSent === undefined ? "new" : this.lastSent.set === set ? "repeat" : "changed";
    this.lastSent = { set, at: now };
    this.counters.sent += 1;
    return { kind: "send", reason, notice: noticeFor(report, "failure") };
  }

  /**
   * The last "send" reached no notifier: forget it, so the next failing run sends again instead
   * of being suppressed for a notice nobody received.
   */
  undelivered(): void {
    this.lastSent = undefined;
  }

  /** Decisions so far (for metrics): failure notices sent, suppressed, recovered notices sent. */
  get counts(): Readonly<GateCounts> {
    return { ...this.counters };
  }
}

function failureKey(f: { path: string; errorClass: string }): string {
  return `${f.path}\u0000${f.errorClass}`;
}
