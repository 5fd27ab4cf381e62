// Headless Chromium for the browser tests: Debian's `chromium` (installed by tools/setup/chromium.sh, which .ci/run
// calls) driven by playwright-core. A Playwright browser download at install time fails without internet, so the
// executable is the system one: GEOLIP_CHROMIUM, else /usr/bin/chromium.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BrowserContext } from 'playwright-core';

/** The Chromium executable, or null when none is installed. */
export function chromiumPath(): string | null {
  const candidates = [process.env.GEOLIP_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (p): p is string => !!p,
  );
  return candidates.find((p) => existsSync(p)) ?? null;
}

/**
 * Why the browser tests cannot run here, or null when they can. In CI (CI=true, set by .ci/run) a missing
 * Chromium is an error, not a skip: the tests must run there.
 */
export function browserSkipReason(): string | null {
  if (chromiumPath() !== null) return null;
  const why = 'no Chromium (run `bash tools/setup/chromium.sh`, or set GEOLIP_CHROMIUM to an executable)';
  if (process.env.CI === 'true') throw new Error(`browser tests: ${why}; CI must run them`);
  return why;
}

/** A headless Chromium with a fresh user-data dir and the flags of issue 10; `close()` removes the dir. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const executablePath = chromiumPath();
  if (executablePath === null) throw new Error('launchChromium: no Chromium found (tools/setup/chromium.sh)');
  const userDataDir = mkdtempSync(join(tmpdir(), 'geolip-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
