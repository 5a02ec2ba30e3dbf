/**
 * A real browser for the dashboard tests and the screenshot script: Debian's chromium driven by
 * playwright-core (no browser download), headless, with a fresh profile that is removed on close.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { removeDir } from './serviceHarness.js';

export const CHROMIUM = process.env.ONNXSCOPE_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page's scripts, in order: a test expects none. */
  pageErrors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set ONNXSCOPE_CHROMIUM to a Chromium binary`);
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-chromium-'));
  // A persistent context is how playwright takes a user-data-dir; the folder is new each time.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', ...FLAGS],
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    context,
    page,
    pageErrors,
    async close() {
      await context.close();
      removeDir(profile);
    },
  };
}

/** Where a test's screenshots go: test-output/<name> in the project (git-ignored). */
export function outputDir(name: string): string {
  const dir = path.resolve('test-output', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs one step of a browser test; on failure, a full-page screenshot named after the step is saved first. */
export async function step<T>(page: Page, dir: string, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const file = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    if (err instanceof Error) err.message += `\n(screenshot: ${file})`;
    throw err;
  }
}

/** Drops a file on an element the way a user's drag and drop does (a DataTransfer with the file). */
export async function dropFile(page: Page, selector: string, bytes: Uint8Array, name: string, type = 'application/octet-stream') {
  const args = JSON.stringify({ selector, data: Buffer.from(bytes).toString('base64'), name, type });
  // Runs in the page (DOM types are not part of this Node project's compilation, hence a string).
  await page.evaluate(`(({ selector, data, name, type }) => {
    const raw = atob(data);
    const buf = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) buf[i] = raw.charCodeAt(i);
    const dt = new DataTransfer();
    dt.items.add(new File([buf], name, { type }));
    const el = document.querySelector(selector);
    if (!el) throw new Error('no element ' + selector);
    for (const kind of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: dt }));
  })(${args})`);
}
