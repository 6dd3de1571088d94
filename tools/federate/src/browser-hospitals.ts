import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import e2eConfig from '../../../e2e/playwright.config';
import type { HospitalData } from './federation-data';
import { importFolder, joinStudy, openAdminDashboard, openHospitalPage, pageBackend, untilDashboardDone, untilFinished } from './hospital-page';
import type { Timeline } from './timeline';

export interface BrowserRunOptions {
  url: string;
  hospitals: HospitalData[];
  tokens: Record<string, string>;
  backend: string | null;
  headed: boolean;
  adminPassword: string;
  timeline: Timeline;
  outDir: string;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** What the pages themselves showed at the end. */
export interface BrowserRunResult {
  /** The backend each hospital page says it trained on. */
  pageBackends: Record<string, string | null>;
}

/**
 * One browser context per hospital (its own IndexedDB, as on separate computers) and one for the
 * admin dashboard, in the Chromium the e2e suite uses with the same flags. Imports run one at a
 * time, so each import time is that hospital's alone; then every hospital joins at once.
 */
export async function runBrowserHospitals(o: BrowserRunOptions): Promise<BrowserRunResult> {
  const browser = await chromium.launch({ ...e2eConfig.use?.launchOptions, headless: !o.headed });
  const close = () => void browser.close();
  o.signal.addEventListener('abort', close);
  const pageLog = join(o.outDir, 'browser.log');
  try {
    const admin = await openAdminDashboard(await browser.newContext(), o.url, o.adminPassword);
    const pages: Page[] = [];
    for (const h of o.hospitals) {
      const page = await openHospitalPage(await browser.newContext(), o.url, h.id, o.tokens[h.id]!, o.backend);
      page.on('pageerror', (e) => appendFileSync(pageLog, `[${h.id}] page error: ${e.message}\n`));
      page.on('console', (m) => m.type() === 'error' && appendFileSync(pageLog, `[${h.id}] console: ${m.text()}\n`));
      const started = performance.now();
      await importFolder(page, h.folder, h.slices);
      const ms = performance.now() - started;
      o.timeline.imported(h.id, ms);
      o.log(`${h.id}: imported ${h.slices} slices in ${(ms / 1000).toFixed(1)} s`);
      pages.push(page);
    }
    for (const [i, page] of pages.entries()) {
      o.timeline.joining(o.hospitals[i]!.id, Date.now());
      await joinStudy(page);
    }
    o.log(`${pages.length} hospitals joined; each first runs its backend ladder (self-check and benchmark)`);
    await Promise.all(pages.map((page, i) => untilFinished(page).catch((e: Error) => Promise.reject(new Error(`${o.hospitals[i]!.id}: ${e.message}`)))));
    const pageBackends = Object.fromEntries(await Promise.all(pages.map(async (page, i) => [o.hospitals[i]!.id, await pageBackend(page)] as const)));
    await untilDashboardDone(admin);
    await admin.screenshot({ path: join(o.outDir, 'dashboard.png'), fullPage: true });
    return { pageBackends };
  } finally {
    o.signal.removeEventListener('abort', close);
    await closeQuietly(browser);
  }
}

async function closeQuietly(browser: Browser): Promise<void> {
  await browser.close().catch(() => {});
}
