import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { generateFederation, startServer, tempDir, type ServerProcess } from './fedward-server';
import { closePages, enterToken, newPage } from './pages';

/*
 * Issue 3 in the browser: a hospital tab imports a generated folder of 16-bit CT DICOM files
 * through the real folder input (decoded in the app's import worker into IndexedDB), including
 * two files that are not readable slices. The summary matches what the generator wrote, a
 * reload shows the same summary from IndexedDB, and a FedAvg round trains on those slices.
 * Small on purpose (one hospital, 64×64 files stored at 32×32, one round of one epoch).
 */
const ADMIN_PASSWORD = 'e2e-admin-password';
const HOSPITAL = 'hospital-a';
/** 40 patients of 4 slices: the 80/20 patient split leaves held-out slices for the round's evaluation. */
const SLICES = 160;

interface Expected {
  patients: number;
  slices: number;
  counts: Record<string, number>;
}

let server: ServerProcess;
let folder: string;
let expected: Expected;
const workDirs: string[] = [];
const BROKEN = {
  truncated: `${HOSPITAL}/lesion/zz-truncated.dcm`,
  notDicom: `${HOSPITAL}/normal/zz-notes.dcm`,
};

test.beforeAll(() => {
  const dataDir = tempDir('fedward-e2e-dicom-');
  generateFederation(dataDir, ['--format', 'dicom', '--hospitals', '1', '--size', '64', '--slices-per-hospital', String(SLICES), '--seed', '21']);
  const summary = JSON.parse(readFileSync(join(dataDir, 'federation.json'), 'utf8')) as { hospitals: (Expected & { id: string })[] };
  expected = summary.hospitals.find((h) => h.id === HOSPITAL)!;

  // The folder the clinician picks: the generated one plus a file cut short and a .dcm that is not DICOM.
  const pickDir = tempDir('fedward-e2e-dicom-pick-');
  folder = join(pickDir, HOSPITAL);
  cpSync(join(dataDir, HOSPITAL), folder, { recursive: true });
  const lesionDir = join(folder, 'lesion');
  const sample = readFileSync(join(lesionDir, readdirSync(lesionDir).find((f) => f.endsWith('.dcm'))!));
  writeFileSync(join(pickDir, BROKEN.truncated), sample.subarray(0, Math.floor(sample.length / 3)));
  writeFileSync(join(pickDir, BROKEN.notDicom), 'Ward notes exported by mistake; not an image.\n');
  workDirs.push(dataDir, pickDir);
});

test.beforeAll(async () => {
  const dbDir = tempDir('fedward-e2e-dicom-db-');
  workDirs.push(dbDir);
  server = await startServer(
    ['--db', join(dbDir, 'fedward.sqlite'), '--rounds', '1', '--min-clients', '1', '--input-size', '32', '--epochs', '1', '--batch-size', '16'],
    { FEDWARD_ADMIN_PASSWORD: ADMIN_PASSWORD },
  );
});

test.afterAll(async () => {
  await closePages();
  await server?.stop();
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

async function createToken(browser: Browser): Promise<{ admin: Page; token: string }> {
  const admin = await newPage(browser);
  await admin.goto(server.url + '/admin/');
  await admin.getByLabel('Admin password').fill(ADMIN_PASSWORD);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await admin.getByLabel('Hospital name').fill(HOSPITAL);
  await admin.getByRole('button', { name: 'Create enrolment token' }).click();
  await expect(admin.getByTestId('new-token')).toContainText(HOSPITAL);
  return { admin, token: (await admin.getByTestId('new-token-value').textContent())!.trim() };
}

/** The dataset summary must be exactly what the generator wrote: slices, labels, patients, a full split. */
async function expectSummary(page: Page): Promise<{ train: number; held: number }> {
  await expect(page.getByTestId('slice-count')).toHaveText(String(expected.slices));
  for (const [label, n] of Object.entries(expected.counts)) await expect(page.getByTestId(`label-${label}`)).toHaveText(String(n));
  await expect(page.getByTestId('data-summary').locator('[data-testid^="label-"]')).toHaveCount(Object.keys(expected.counts).length);
  await expect(page.getByTestId('patient-count')).toHaveText(String(expected.patients));
  await expect(page.getByTestId('data-summary')).toContainText('32×32');
  const train = Number(await page.getByTestId('train-count').textContent());
  const held = Number(await page.getByTestId('test-count').textContent());
  expect(train + held).toBe(expected.slices);
  expect(train).toBeGreaterThan(0);
  expect(held).toBeGreaterThan(0);
  return { train, held };
}

test('a hospital imports a DICOM folder into IndexedDB, keeps it across a reload, and trains a round on it', async ({ browser }) => {
  test.setTimeout(5 * 60_000);
  expect(expected.slices).toBe(SLICES);
  expect(expected.counts.lesion! + expected.counts.normal!).toBe(SLICES);
  const { admin, token } = await createToken(browser);

  const page = await newPage(browser);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url + '/');
  await enterToken(page, token, HOSPITAL);

  // Nothing stored yet in this browser profile.
  await expect(page.getByTestId('data-summary')).toHaveCount(0);
  await page.getByTestId('folder-input').setInputFiles(folder);
  await expect(page.getByTestId('slice-count')).toHaveText(String(expected.slices), { timeout: 60_000 });
  await expectSummary(page);

  // The two bad files are named with their own problem; every other file loaded (checked above).
  const problems = page.getByTestId('import-problem');
  await expect(problems).toHaveCount(2);
  await expect(page.getByTestId('import-problems')).toContainText('2 file(s) could not be imported; the rest loaded');
  const problem = (file: string) => page.locator(`[data-testid="import-problem"][data-file="${file}"]`);
  await expect(problem(BROKEN.truncated)).toContainText(`${BROKEN.truncated}: pixel data is truncated`);
  await expect(problem(BROKEN.notDicom)).toContainText(`${BROKEN.notDicom}: not a DICOM file`);

  // A reload reads the summary back from IndexedDB (the problems list belonged to that import only).
  await page.reload();
  await expect(page.getByTestId('hospital-name')).toHaveText(HOSPITAL);
  await expect(page.getByTestId('slice-count')).toHaveText(String(expected.slices));
  const { held } = await expectSummary(page);
  await expect(page.getByTestId('import-problem')).toHaveCount(0);

  // One FedAvg round on the stored slices, evaluated on this hospital's held-out patients.
  await page.getByRole('button', { name: 'Join round' }).click();
  // 'Stopped' is final too: fail at once, with the page's own explanation.
  await expect(page.getByTestId('phase')).toHaveText(/Federation finished|Stopped/, { timeout: 4 * 60_000 });
  const alerts = (await page.getByRole('alert').allTextContents()).join(' | ');
  expect(await page.getByTestId('phase').textContent(), `training stopped: ${alerts}`).toBe('Federation finished');
  const round1 = page.getByTestId('history-round-1');
  await expect(round1).toBeVisible();
  await expect(round1.getByTestId('accuracy')).toHaveText(/^\d+(\.\d)?%$/);
  // Evaluated on exactly the held-out slices the summary announced.
  await expect(round1.locator('td').nth(3)).toHaveText(String(held));
  await expect(admin.getByTestId('round-row')).toHaveCount(1);
  await expect(admin.getByTestId('round-participants')).toHaveText('1');
  expect(pageErrors).toEqual([]);
});
