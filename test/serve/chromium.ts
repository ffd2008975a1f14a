import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's Chromium lives; Playwright's own browser download does not work on these machines. */
export const CHROMIUM = '/usr/bin/chromium';

/** The flags Chromium needs to run headless as root in a container. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/**
 * Makes sure Chromium is installed, with apt when it is missing (CI machines run as root with registry
 * access). Returns undefined, with the reason, when it cannot be had on this machine; under `CI=true` that
 * throws instead, so a CI run never passes without the browser test.
 */
export function ensureChromium(): { path: string } | { missing: string } {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  try {
    execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', 'chromium'], {
      stdio: 'ignore',
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    const reason = `Chromium is not at ${CHROMIUM} and apt-get install chromium failed (${(error as Error).message.split('\n')[0]})`;
    if (process.env.CI) throw new Error(`${reason}: the browser test cannot run`);
    return { missing: reason };
  }
  return existsSync(CHROMIUM) ? { path: CHROMIUM } : { missing: `apt-get installed no ${CHROMIUM}` };
}
