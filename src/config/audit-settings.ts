// The audit stream listener's settings as the config takes them: defaults, and the allow-list
// entries (IP addresses and CIDRs) checked when the config is read. The listener itself is
// runtime/service/audit-stream.ts.
import { isIP } from "node:net";

/** Loopback only: IPv4, IPv6, and IPv4 loopback seen through a dual-stack (`::`) listener. */
export const DEFAULT_AUDIT_ALLOW_FROM: readonly string[] = ["127.0.0.0/8", "::1/128", "::ffff:127.0.0.0/104"];
/** A server uses one connection per socket device; a few spare for restarts and a second server. */
export const DEFAULT_AUDIT_MAX_CONNECTIONS = 8;
/** Values are HMAC-ed, so real lines stay far below this unless a secret has thousands of keys. */
export const DEFAULT_AUDIT_MAX_LINE_BYTES = 1024 * 1024;
export const DEFAULT_AUDIT_IDLE_TIMEOUT_MS = 5 * 60 * 1000;

/** Why an allow-list entry (an IP address or a CIDR) is unusable, or undefined. */
export function allowEntryProblem(entry: string): string | undefined {
  const parsed = parseAllowEntry(entry);
  return typeof parsed === "string" ? parsed : undefined;
}

export function parseAllowEntry(entry: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | string {
  const [address = "", prefixText, extra] = entry.split("/");
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return `"${entry}" is not an IP address or CIDR (e.g. 127.0.0.1, 10.0.0.0/8, ::1/128)`;
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family: version === 4 ? "ipv4" : "ipv6" };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return `"${entry}" has a prefix length outside 0-${max}`;
  return { address, prefix: Number(prefixText), family: version === 4 ? "ipv4" : "ipv6" };
}
