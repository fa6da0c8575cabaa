// Headless Chromium for end-to-end page tests: Debian's /usr/bin/chromium driven by playwright-core,
// a fresh profile per launch, and pages that record console errors and every request URL.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package (`apt-get install chromium`); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where e2e tests save screenshots (gitignored). */
export const OUTPUT_DIR = new URL('../../test-output/', import.meta.url).pathname;

/** True when the browser is installed. */
export function haveChromium(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Whether e2e tests should run: yes with chromium; without it they are skipped locally, but under
 * CI=true they must fail loudly instead, so this throws there.
 */
export function chromiumOrSkip(): boolean {
  if (haveChromium()) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium" (see .ci/run) or set CHROMIUM_PATH`,
    );
  }
  return false;
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A launched browser with its own throwaway profile; close() removes the profile. */
export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launch headless Chromium with a fresh user-data-dir. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!haveChromium()) throw new Error(`Chromium not found at ${CHROMIUM_PATH}`);
  const profile = mkdtempSync(join(tmpdir(), 'opstrails-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
    locale: 'en-US',
    timezoneId: 'Europe/Berlin', // not UTC, so a page that forgets to say UTC shows wrong clocks
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page plus what it did: console errors, uncaught exceptions and every request URL. */
export interface TestPage {
  page: Page;
  consoleErrors: string[];
  requests: { url: string; headers: Record<string, string> }[];
}

/** Open a page that records console errors (and page errors) and every request it makes. */
export async function newPage(browser: TestBrowser, opts: { collectConsoleErrors?: boolean } = {}): Promise<TestPage> {
  const page = await browser.context.newPage();
  // Shorter than the test timeout, so a stuck step names itself instead of timing the test out.
  page.setDefaultTimeout(10_000);
  const consoleErrors: string[] = [];
  const requests: TestPage['requests'] = [];
  if (opts.collectConsoleErrors ?? true) {
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`${msg.text()} @ ${msg.location().url}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  }
  page.on('request', (req) => requests.push({ url: req.url(), headers: req.headers() }));
  return { page, consoleErrors, requests };
}

/** Save a full-page screenshot under test-output/ and return its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
