// Where a benchmark's CPU goes: reads a V8 .cpuprofile (node --cpu-prof) and adds up self time
// by owner: an npm package, a Node.js built-in, a folder of our own code, or one of V8's own
// entries (garbage collector, program). Idle time is left out.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in ms per owner, largest first, idle excluded. */
export function cpuByOwner(file: string): { owner: string; ms: number }[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const ownerOf = new Map(profile.nodes.map((n) => [n.id, ownerOfFrame(n.callFrame)]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const owner = ownerOf.get(id) ?? "(unknown)";
    // timeDeltas[i] is the time before sample i; attributing it to sample i is V8's own convention.
    totals.set(owner, (totals.get(owner) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  totals.delete("(idle)");
  return [...totals.entries()].map(([owner, ms]) => ({ owner, ms })).sort((a, b) => b.ms - a.ms);
}

function ownerOfFrame(frame: { functionName: string; url: string }): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const ours = /\/dist\/(src\/.*)\/[^/]+$/.exec(url);
  if (ours) return `secretbridge ${ours[1]}`;
  return url;
}
