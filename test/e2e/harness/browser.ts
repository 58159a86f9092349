import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// Without these Chromium reaches for the network (component updates, field trials, QUIC probes,
// sync), which is closed here. Playwright adds --headless and a fresh temporary --user-data-dir
// (a new profile per launch, deleted on close) itself; it refuses a --user-data-dir in `args`.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's headless Chromium (test/e2e/ensure-chromium.sh installs it), driven by playwright-core. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}
