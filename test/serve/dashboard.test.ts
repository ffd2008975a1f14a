/**
 * The dashboard in a real browser (playwright-core driving Debian's Chromium) against a real server with real
 * worker threads: sign in with a token, delegate through the page, watch output arrive live, steer (the page
 * shows "delivered"), cancel, and see that another token's tasks are invisible. Saves screenshots under
 * test/.artifacts/. Skipped, with one line saying why, only where Chromium cannot be installed (never under CI).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, ensureChromium } from './chromium.js';
import { closeServers, serveModel, startTestServer, TOKENS } from './serve-helpers.js';

const browserFound = ensureChromium();
if ('missing' in browserFound) console.warn(`dashboard tests skipped: ${browserFound.missing}`);
const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url));

let browser: Browser;
let url: string;

beforeAll(async () => {
  if (!('path' in browserFound)) return;
  const started = await startTestServer({ capacity: 4 }, { model: serveModel(100), pool: { maxThreads: 4 } });
  url = started.server.url;
  browser = await chromium.launch({ executablePath: browserFound.path, args: CHROMIUM_ARGS, headless: true });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await closeServers();
});

async function signIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByRole('textbox', { name: 'Token' }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('textbox', { name: 'Goal' }).waitFor();
  return page;
}

/** Waits until the element's text matches. */
async function textMatches(page: Page, selector: string, pattern: RegExp): Promise<void> {
  await page.locator(selector).filter({ hasText: pattern }).waitFor({ timeout: 30_000 });
}

describe.skipIf(!('path' in browserFound))('dashboard in Chromium', () => {
  it('refuses a wrong token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel('Token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was not accepted.').waitFor();
    expect(await page.getByLabel('Goal').count()).toBe(0);
    await context.close();
  });

  it('signs in, delegates, streams output live, steers ("delivered"), cancels; another token sees none of it', async () => {
    const page = await signIn(TOKENS[0]!.token);
    await page.getByLabel('Goal').fill('work from the browser');
    await page.getByRole('button', { name: 'Delegate' }).click();
    const row = page.getByRole('row', { name: /work from the browser/ });
    await row.getByText('running', { exact: true }).waitFor();

    // A second task, steered from its row in the list until it finishes.
    await page.getByLabel('Goal').fill('work then finish from the row');
    await page.getByRole('button', { name: 'Delegate' }).click();
    const second = page.getByRole('row', { name: /work then finish from the row/ });
    await second.getByText('running', { exact: true }).waitFor();
    await second.getByRole('textbox', { name: 'Steer' }).fill('finish from the row');
    await second.getByRole('button', { name: 'Steer' }).click();
    await second.getByText('completed', { exact: true }).waitFor({ timeout: 30_000 });
    await second.getByText(/delivered/).waitFor();
    await second.getByText('finished: finish from the row').waitFor();
    expect(await second.getByRole('button', { name: 'Cancel' }).count()).toBe(0);

    // The live list: the first task's last line moves on while we watch.
    await row
      .getByText(/working, turn \d+|echo/)
      .first()
      .waitFor();
    await page.screenshot({ path: `${ARTIFACTS}dashboard-list.png`, fullPage: true });

    // The task's page: output arrives live, turn after turn.
    await row.getByRole('link', { name: 'work from the browser' }).click();
    await page.locator('#task-output').waitFor();
    await textMatches(page, '#task-output', /working, turn 2\b/);
    await textMatches(page, '#task-output', /working, turn 4\b/);
    expect(await page.getByLabel('Steer').count()).toBe(1);
    expect(await page.locator('#task-facts').textContent()).not.toContain('delivered');

    await page.getByLabel('Steer').fill('keep going, and mind the edge cases');
    await page.getByRole('button', { name: 'Steer' }).click();
    await textMatches(page, '#task-facts', /delivered/);
    await textMatches(page, '#task-output', /noted: keep going, and mind the edge cases/);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-task.png`, fullPage: true });

    await page.getByRole('button', { name: 'Cancel' }).click();
    await textMatches(page, '#task-facts', /cancelled/);
    await textMatches(page, '#task-error', /cancelled/);
    await textMatches(page, '#task-result', /working, turn \d+|noted/);
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);

    await page.getByRole('link', { name: '← All tasks' }).click();
    await row.getByText('cancelled', { exact: true }).waitFor();
    // The status filter.
    await page.getByLabel('Status').selectOption('completed');
    await page.getByRole('row', { name: /work from the browser/ }).waitFor({ state: 'detached' });
    expect(await page.getByRole('row', { name: /work then finish from the row/ }).count()).toBe(1);
    await page.getByLabel('Status').selectOption('');
    await textMatches(page, '#host', /event loop p99 [\d.]+ ms · pool \d+\/4 running/);

    // Another token, another session: none of these tasks, not even by URL.
    const other = await signIn(TOKENS[1]!.token);
    await other.getByText('No tasks yet.').waitFor();
    expect(await other.getByText('work from the browser').count()).toBe(0);
    const id = await row.getByRole('link').getAttribute('href');
    // Same page, new hash: the signed-in page opens the task view, which finds nothing (the API says 404).
    const refused = other.waitForResponse(
      (response) => response.url().includes('/v1/tasks/') && response.status() === 404,
    );
    await other.goto(`${url}/${id}`);
    await other.locator('#task-goal').waitFor();
    await refused;
    expect(await other.locator('#task-facts').textContent()).toBe('');
    expect(await other.getByText('work from the browser').count()).toBe(0);
    await other.context().close();
    await page.context().close();
  }, 120_000);
});
