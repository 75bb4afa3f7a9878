import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium, which `.ci/run` installs; playwright-core never downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';
/** Whether the browser tests can run here (under CI=true they fail instead of skipping when it is missing). */
export const chromiumAvailable = existsSync(CHROMIUM);

/** Headless Chromium as root in a sandboxless container, with none of its background calls to the closed network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
