// Failure notifications. A notification lists paths and error classes, never values; sending one
// can fail without changing the run's result.
export interface FailureNotice {
  /**
   * "failure": the run had failures (listed). "recovered": the service's runs had failures and now
   * have none (`failures` is empty). Absent means "failure" (notices built before the field existed).
   */
  kind?: "failure" | "recovered";
  syncName: string;
  /** The config's target the run wrote to. Absent in notices built before targets existed. */
  target?: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  summary: Record<string, number>;
  failures: { path: string; destinationName?: string; errorClass: string; message: string }[];
}

export interface Notifier {
  readonly kind: string;
  notify(notice: FailureNotice): Promise<void>;
}

/** The fields of a run report a notice is built from: names, classes and messages only. */
export interface ReportForNotice {
  syncName: string;
  target?: string;
  runId: string;
  mode: string;
  startedAt: string;
  finishedAt: string;
  counts: object;
  /** Set when the run stopped before writing (its one failure then names the mount). */
  fatal?: object;
  failures: FailureNotice["failures"];
  notifications?: { sent: string[]; failed: { kind: string; message: string }[] };
}

/** The notice for a run: its failures ("failure") or none ("recovered"). */
export function noticeFor(report: ReportForNotice, kind: "failure" | "recovered"): FailureNotice {
  return {
    kind,
    syncName: report.syncName,
    ...(report.target !== undefined ? { target: report.target } : {}),
    runId: report.runId,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    summary: { ...(report.counts as Record<string, number>) },
    failures:
      kind === "recovered"
        ? []
        : report.failures.map((f) => ({ path: f.path, ...(f.destinationName ? { destinationName: f.destinationName } : {}), errorClass: f.errorClass, message: f.message })),
  };
}
