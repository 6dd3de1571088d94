import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

const contexts: BrowserContext[] = [];

/**
 * A page in a browser context of its own (its own IndexedDB: one hospital each). The browser
 * lives as long as the Playwright worker, so every spec closes its contexts in afterAll:
 * otherwise finished tabs keep reconnecting to servers that are gone while the next spec runs.
 */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  return context.newPage();
}

export async function closePages(): Promise<void> {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
}

/** Signs in to the admin dashboard in its own browser context (a wrong password first, to see it refused). */
export async function openAdmin(browser: Browser, url: string, password: string): Promise<Page> {
  const page = await newPage(browser);
  await page.goto(url + '/admin/');
  await page.getByLabel('Admin password').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('wrong admin password');
  await page.getByLabel('Admin password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: /Demo federation/ })).toBeVisible();
  return page;
}

/**
 * One hospital in its own browser context (its own IndexedDB): checks the token, picks the
 * hospital's generated folder through the real file input, and waits for the import.
 */
export async function openHospital(browser: Browser, url: string, dataDir: string, hospital: string, token: string, query = ''): Promise<Page> {
  const page = await newPage(browser);
  page.on('pageerror', (e) => console.log(`[${hospital}] page error: ${e.message}`));
  await page.goto(url + '/' + query);
  await enterToken(page, token, hospital);
  await page.getByTestId('folder-input').setInputFiles(join(dataDir, hospital));
  const expected = JSON.parse(readFileSync(join(dataDir, 'federation.json'), 'utf8')) as {
    hospitals: { id: string; counts: Record<string, number> }[];
  };
  const counts = expected.hospitals.find((h) => h.id === hospital)!.counts;
  await expect(page.getByTestId('slice-count')).toHaveText(String(counts.lesion! + counts.normal!), { timeout: 60_000 });
  await expect(page.getByTestId('label-lesion')).toHaveText(String(counts.lesion));
  return page;
}

/**
 * Checks the token on a hospital page and, when the hospital takes part in one study, reviews and
 * accepts its plan (joining is refused without it). With several studies, pass the one to choose.
 */
export async function enterToken(page: Page, token: string, hospital: string, study?: string): Promise<void> {
  await page.getByLabel('Enrolment token').fill(token);
  await page.getByRole('button', { name: 'Check token' }).click();
  await expect(page.getByTestId('hospital-name')).toHaveText(hospital);
  await acceptPlan(page, study);
}

/** Chooses `study` (by its name) if given, and accepts the plan shown for it. */
export async function acceptPlan(page: Page, study?: string): Promise<void> {
  if (study) await page.getByRole('radio', { name: new RegExp(study) }).check();
  await expect(page.getByTestId('plan-digest')).toHaveText(/^[0-9a-f]{64}$/);
  await page.getByRole('button', { name: 'I have reviewed this plan and accept it' }).click();
  await expect(page.getByTestId('plan-acceptance')).toHaveAttribute('data-accepted', 'true');
}

/** Signs in to the admin dashboard on `page` (already at /admin/) and waits until it is live. */
export async function signInAdmin(page: Page, password: string): Promise<void> {
  await page.getByLabel('Admin password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('connection')).toHaveText('Live');
}

/** The admin's answer to POST /api/admin/login for one click of "Sign in" with `password`. */
export async function submitAdminPassword(page: Page, password: string): Promise<number> {
  await page.getByLabel('Admin password').fill(password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/admin/login') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return response.status();
}
