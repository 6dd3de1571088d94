import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { generateFederation, startDemoFederation, tempDir, type DemoFederation } from './fedward-server';
import { closePages, openHospital } from './pages';

/*
 * Issue 14 in the browser: a hospital takes part in a short real federation (one round), then, in
 * the same tab, tries the model it received on the "Try the model" page: on one of its imported
 * slices, and on a DICOM file written for this test (64×64 and without extension: resized and told
 * apart by its bytes, as an import would). A file cut short gets an error naming it; nothing is sent
 * while trying; a reload still has the model. Small on purpose: PNG 32×32, one round of one epoch.
 */
const HOSPITAL = 'hospital-a';
const ADMIN_PASSWORD = 'e2e-try-admin-password';

let fed: DemoFederation;
let files: string;
const workDirs: string[] = [];
/** A generated CT slice, copied without its extension (as PACS exports often name them). */
const NO_EXTENSION = 'IM000001';
/** The same slice cut in half. */
const TRUNCATED = 'IM000002.dcm';

test.beforeAll(async () => {
  fed = await startDemoFederation({
    name: 'try',
    hospitals: [HOSPITAL],
    slicesPerHospital: 40,
    seed: 37,
    serverArgs: ['--rounds', '1', '--min-clients', '1', '--epochs', '1', '--batch-size', '16'],
    adminPassword: ADMIN_PASSWORD,
  });
  const dicom = tempDir('fedward-e2e-try-dicom-');
  generateFederation(dicom, ['--format', 'dicom', '--hospitals', '1', '--size', '64', '--slices-per-hospital', '8', '--seed', '38']);
  const lesions = join(dicom, HOSPITAL, 'lesion');
  const slice = join(lesions, readdirSync(lesions).find((f) => f.endsWith('.dcm'))!);
  files = tempDir('fedward-e2e-try-files-');
  copyFileSync(slice, join(files, NO_EXTENSION));
  const bytes = readFileSync(slice);
  writeFileSync(join(files, TRUNCATED), bytes.subarray(0, bytes.length >> 1));
  workDirs.push(fed.dataDir, dicom, files);
});

test.afterAll(async () => {
  await closePages();
  await fed?.server.stop();
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

/** The answer shown for `subject`: its class probabilities (whole percent as shown, and exact), which must make 100 %. */
async function expectAnswer(page: Page, subject: string): Promise<void> {
  await expect(page.getByTestId('try-status')).toHaveText(`Done: the model’s answer for ${subject} is below.`, { timeout: 120_000 });
  const items = page.getByTestId('probability');
  await expect(items).toHaveCount(2);
  const shown = (await items.allTextContents()).map((t) => Number(/^(?:lesion|normal): (\d+) %$/.exec(t)?.[1]));
  const exact = await Promise.all((await items.all()).map(async (li) => Number(await li.getAttribute('data-value'))));
  console.log(`${subject}: ${(await items.allTextContents()).join(', ')}`);
  // Two whole percentages round to 99, 100 or 101.
  expect(Math.abs(shown.reduce((a, b) => a + b, 0) - 100)).toBeLessThanOrEqual(1);
  expect(exact.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  await expect(page.getByTestId('try-answer')).toHaveText(/^The model says (lesion|normal) \(\d+ %\)\.$/);
  // The slice as the model saw it: at the model's input size, whatever the file's.
  await expect(page.getByTestId('tried-slice')).toHaveAttribute('width', '32');
}

test('a hospital tries the model it received on an imported slice and on a DICOM file, and keeps it across a reload', async ({ browser }) => {
  test.setTimeout(15 * 60_000);
  const page = await openHospital(browser, fed.server.url, fed.dataDir, HOSPITAL, fed.tokens[HOSPITAL]!);
  await page.getByRole('button', { name: 'Join round' }).click();
  // The backend ladder, then one round: minutes on a loaded 2-core machine.
  await expect(page.getByTestId('phase')).toHaveText('Federation finished', { timeout: 10 * 60_000 });

  // Nothing may leave the browser while trying: only the page's own scripts are fetched (GET, no body).
  const sent: string[] = [];
  page.on('request', (r) => {
    if (r.method() !== 'GET' || r.postData() !== null) sent.push(`${r.method()} ${r.url()}`);
  });
  page.on('websocket', (ws) => sent.push(`websocket ${ws.url()}`));

  // Same tab, by keyboard: the navigation is two links.
  const tryLink = page.getByRole('link', { name: 'Try the model' });
  await tryLink.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Try the model' })).toBeVisible();
  await expect(tryLink).toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('model-summary')).toHaveAttribute('data-round', '1');
  await expect(page.getByTestId('model-round')).toHaveText('after round 1');

  // An imported slice, picked with the keyboard.
  const imported = page.getByTestId('imported-slice').first();
  const label = await imported.getAttribute('data-label');
  await imported.focus();
  await page.keyboard.press('Enter');
  await expectAnswer(page, `imported slice 1 (labelled ${label})`);
  await expect(imported).toHaveAttribute('aria-pressed', 'true');

  // A fresh DICOM file without extension, through the labelled file input.
  await page.getByLabel('Slice to try').setInputFiles(join(files, NO_EXTENSION));
  await expectAnswer(page, NO_EXTENSION);

  // A file cut short: an error that names it and says what to do; the page stays usable.
  await page.getByLabel('Slice to try').setInputFiles(join(files, TRUNCATED));
  await expect(page.getByTestId('try-error')).toHaveText(new RegExp(`^${TRUNCATED}: pixel data is truncated.*copy it again`));
  await expect(page.getByTestId('try-status')).toHaveText(`Could not try ${TRUNCATED}.`);

  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  expect(sent).toEqual([]);

  // A reload (the hash keeps the page) still has the model, from IndexedDB.
  await page.reload();
  await expect(page.getByRole('link', { name: 'Try the model' })).toHaveAttribute('aria-current', 'page');
  await expect(page.getByTestId('model-summary')).toHaveAttribute('data-round', '1');
  await page.getByTestId('imported-slice').first().click();
  await expectAnswer(page, `imported slice 1 (labelled ${label})`);
});
