// The README is short and sends readers into docs/: a link that lands nowhere (a moved file, a
// renamed heading) is a dead end for a user, so every relative link and anchor must resolve.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const repoRoot = join(fileURLToPath(import.meta.url), "..", "..", "..");

/** The README and every page under docs/, as paths from the repository root. */
function pages(): string[] {
  const docs = readdirSync(join(repoRoot, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  return ["README.md", ...docs.sort()];
}

/** The lines outside fenced code blocks (a `[x](y)` inside code is not a link). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").map((line) => {
    if (line.trimStart().startsWith("```")) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line.replace(/`[^`]*`/g, "");
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2 ... */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.trimStart().startsWith("```")) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!heading) continue;
    const base = (heading[1] ?? "").trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

interface Link {
  page: string;
  line: number;
  target: string;
}

function relativeLinks(page: string): Link[] {
  const links: Link[] = [];
  prose(readFileSync(join(repoRoot, page), "utf8")).forEach((text, i) => {
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1] ?? "";
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
      links.push({ page, line: i + 1, target });
    }
  });
  return links;
}

/** What is wrong with a link, or undefined when it resolves. */
function brokenBecause({ page, target }: Link): string | undefined {
  const [file = "", anchor] = target.split("#", 2);
  const path = file === "" ? join(repoRoot, page) : join(repoRoot, dirname(page), decodeURIComponent(file));
  if (!existsSync(path)) return `${relative(repoRoot, path)} does not exist`;
  if (anchor === undefined) return undefined;
  if (!path.endsWith(".md") || statSync(path).isDirectory()) return `#${anchor} points into ${relative(repoRoot, path)}, which has no headings`;
  return headingAnchors(readFileSync(path, "utf8")).has(anchor) ? undefined : `${relative(repoRoot, path)} has no heading #${anchor}`;
}

describe("links in the README and docs/", () => {
  test("the anchors GitHub makes from headings", () => {
    const anchors = headingAnchors("# Run as a service (push mode)\n## Notifications under `serve`\n```\n# not a heading\n```\n## Push from Vault / OpenBao: the socket audit device\n## Logs\n## Logs\n");
    assert.deepEqual([...anchors], ["run-as-a-service-push-mode", "notifications-under-serve", "push-from-vault--openbao-the-socket-audit-device", "logs", "logs-1"]);
  });

  test("the README links into docs/", () => {
    const targets = relativeLinks("README.md").map((l) => l.target.split("#")[0]);
    assert.ok(targets.includes("docs/configuration.md"), `README links: ${targets.join(", ")}`);
  });

  test("every relative link and anchor resolves", () => {
    const broken = pages()
      .flatMap(relativeLinks)
      .map((link) => ({ link, why: brokenBecause(link) }))
      .filter((b) => b.why !== undefined)
      .map(({ link, why }) => `${link.page}:${link.line} (${link.target}): ${why}`);
    assert.deepEqual(broken, []);
  });
});
