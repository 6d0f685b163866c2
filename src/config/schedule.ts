// Schedule expressions as the config takes them: 5-field cron (`*/30 * * * *`) or the EventBridge
// form (`cron(0,30 * * * ? *)`, as in the reference sample). Checked here when the config is read;
// run by runtime/service/schedule.ts.
import { Cron } from "croner";

/** EventBridge `cron(m h dom mon dow year)` to a 5-field pattern croner understands. */
export function toCronPattern(expression: string): string {
  const trimmed = expression.trim();
  const eb = /^cron\((.+)\)$/.exec(trimmed);
  if (!eb) return trimmed;
  const fields = (eb[1] ?? "").trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`"${expression}": an EventBridge cron has 6 fields (minutes hours day-of-month month day-of-week year)`);
  const [minute, hour, dom, month, dow] = fields.map((f) => (f === "?" ? "*" : f));
  return [minute, hour, dom, month, dow].join(" ");
}

/** Why an expression is unusable, or undefined. */
export function scheduleProblem(expression: string): string | undefined {
  try {
    new Cron(toCronPattern(expression), { paused: true }).stop();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
