import { expect, type BrowserContext, type Page } from '@playwright/test';
import { enterToken, signInAdmin } from '../../../e2e/tests/pages';

/**
 * Every step the tool takes on the real pages, in one place: when the hospital page changes
 * (a new step before joining, a renamed button), this module and e2e/tests/pages.ts are what to
 * update. Token and study plan use the e2e helpers themselves; they run outside the Playwright
 * test runner, where `expect` waits 5 s unless told otherwise, so the long waits here say how long.
 */

/**
 * Waits that follow real work (an import, a whole study) have no limit of their own: the tool's
 * --timeout-min closes the browser, which ends them.
 */
const NO_LIMIT = 7 * 24 * 3600_000;

/** Opens the hospital page (with `?backend=` when one is forced), enters the token and accepts the study plan. */
export async function openHospitalPage(context: BrowserContext, url: string, hospital: string, token: string, backend: string | null): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${url}/${backend ? `?backend=${backend}` : ''}`);
  await enterToken(page, token, hospital);
  return page;
}

/** Picks the hospital's folder through the real file input and resolves when every slice is stored. */
export async function importFolder(page: Page, folder: string, slices: number): Promise<void> {
  await page.getByTestId('folder-input').setInputFiles(folder);
  await expect(page.getByTestId('slice-count')).toHaveText(String(slices), { timeout: NO_LIMIT });
}

/**
 * Joins once the page allows it: right after an import the page re-reads its stored slices (and a
 * busy machine may take a while), so the button is waited for, not clicked at once; if it stays
 * disabled, the page's own reasons are the error.
 */
export async function joinStudy(page: Page): Promise<void> {
  const button = page.getByRole('button', { name: 'Join round' });
  try {
    await expect(button).toBeEnabled({ timeout: 10 * 60_000 });
  } catch {
    const why = (await page.getByTestId('join-blockers').allTextContents()).join(' ');
    throw new Error(`"Join round" stayed disabled for 10 minutes${why ? `: ${why}` : ' (the page gave no reason)'}`);
  }
  await button.click();
}

/** Resolves when the page says the federation finished; throws with the page's reason when it stopped. */
export async function untilFinished(page: Page): Promise<void> {
  const phase = page.getByTestId('phase');
  await expect(phase).toHaveText(/^(Federation finished|Stopped.*)$/, { timeout: NO_LIMIT });
  const text = (await phase.textContent()) ?? '';
  if (text !== 'Federation finished') {
    const reason = await page.getByRole('alert').allTextContents();
    throw new Error(`${text}: ${reason.join(' ') || 'no reason shown'}`);
  }
}

/** The TF.js backend the page says it trains on. */
export async function pageBackend(page: Page): Promise<string | null> {
  const backend = page.getByTestId('backend');
  return (await backend.count()) > 0 ? ((await backend.textContent()) ?? null) : null;
}

/** The admin dashboard, signed in and live. */
export async function openAdminDashboard(context: BrowserContext, url: string, password: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${url}/admin/`);
  await signInAdmin(page, password);
  return page;
}

/** Waits until the dashboard shows the study done (so a screenshot shows the final rounds). */
export async function untilDashboardDone(admin: Page): Promise<void> {
  await expect(admin.getByTestId('phase')).toHaveText('done', { timeout: 60_000 });
}
