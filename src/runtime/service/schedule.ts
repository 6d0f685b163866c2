// Schedules for full syncs: 5-field cron (`*/30 * * * *`) or the EventBridge form
// (`cron(0,30 * * * ? *)`, as in the reference sample), run with croner.
import { Cron } from "croner";
import { toCronPattern } from "../../config/schedule.js";

export function startSchedule(expression: string, run: () => void): { stop(): void; next(): Date | null } {
  const job = new Cron(toCronPattern(expression), { protect: true }, run);
  return { stop: () => job.stop(), next: () => job.nextRun() };
}
