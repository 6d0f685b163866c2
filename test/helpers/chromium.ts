// The headless Chromium the status page tests drive: Debian's package, through playwright-core
// (no browser download). A missing browser fails those tests, saying how to install it; it never
// skips them, since a skipped suite reads as a pass.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: the status page tests need Chromium. Install it (as root: apt-get install chromium; npm test runs scripts/bootstrap.sh --browser, which does) or set CHROMIUM_PATH to a Chromium binary`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}
