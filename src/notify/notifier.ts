// Failure notifications. A notification lists paths and error classes, never values; sending one
// can fail without changing the run's result.
export interface FailureNotice {
  syncName: string;
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
