import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { generateFederation, startServer, tempDir, type ServerProcess } from './fedward-server';
import { closePages, newPage, openAdmin, openHospital } from './pages';

/*
 * The walking skeleton, end to end: an admin creates three enrolment tokens in the dashboard;
 * three hospitals, each in its own browser context (so each has its own IndexedDB), pick their
 * generated PNG folder through the real file input, join, and train two FedAvg rounds.
 * Sized for a 2-core machine: 32×32 slices, 120 per hospital, 4 local epochs.
 */
const HOSPITALS = ['hospital-a', 'hospital-b', 'hospital-c'];
const ROUNDS = 2;
const ADMIN_PASSWORD = 'e2e-admin-password';
/** Chance is 50% on two balanced-ish classes; the global model must beat it clearly. */
const MIN_ACCURACY = 0.7;

let server: ServerProcess;
let dataDir: string;

test.beforeAll(async () => {
  dataDir = tempDir('fedward-e2e-data-');
  // The easy task: two rounds must show that the pipeline learns; the hard demo task needs many more.
  generateFederation(dataDir, ['--format', 'png', '--hospitals', '3', '--size', '32', '--slices-per-hospital', '120', '--seed', '11', '--difficulty', 'easy']);
  server = await startServer(
    ['--db', join(tempDir('fedward-e2e-db-'), 'fedward.sqlite'), '--rounds', String(ROUNDS), '--min-clients', '3',
      '--input-size', '32', '--epochs', '4', '--batch-size', '16', '--learning-rate', '0.01'],
    { FEDWARD_ADMIN_PASSWORD: ADMIN_PASSWORD },
  );
});

test.afterAll(async () => {
  await closePages();
  await server?.stop();
});

async function createToken(admin: Page, hospital: string): Promise<string> {
  await admin.getByLabel('Hospital name').fill(hospital);
  await admin.getByRole('button', { name: 'Create enrolment token' }).click();
  await expect(admin.getByTestId('new-token')).toContainText(hospital);
  return (await admin.getByTestId('new-token-value').textContent())!.trim();
}

test('three browser hospitals train two FedAvg rounds; the admin sees it live', async ({ browser }) => {
  const admin = await openAdmin(browser, server.url, ADMIN_PASSWORD);

  // A hospital with a made-up token is turned away with a clear message.
  const stranger = await newPage(browser);
  await stranger.goto(server.url + '/');
  await stranger.getByLabel('Enrolment token').fill('fwd_not-a-real-token');
  await stranger.getByRole('button', { name: 'Check token' }).click();
  await expect(stranger.getByRole('alert')).toContainText('unknown or revoked enrolment token');

  const tokens: string[] = [];
  for (const h of HOSPITALS) tokens.push(await createToken(admin, h));
  const pages = await Promise.all(HOSPITALS.map((h, i) => openHospital(browser, server.url, dataDir, h, tokens[i]!)));

  // Progress is visible while a round trains. A round of 4 short passes can come and go between two
  // polls of an assertion on a fast machine, so the page itself records what its progress bar showed.
  await pages[0]!.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { progressSeen: string[] }).progressSeen = seen;
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid=epoch-progress]')?.textContent;
      if (text && seen.at(-1) !== text) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  for (const page of pages) await page.getByRole('button', { name: 'Join round' }).click();
  // Each tab first runs its backend ladder (self-check and benchmark): minutes on a loaded machine.
  await expect(admin.getByTestId('hospital-row')).toHaveCount(3, { timeout: 5 * 60_000 });

  for (const page of pages) {
    await expect(page.getByTestId('phase')).toHaveText('Federation finished', { timeout: 15 * 60_000 });
    await expect(page.getByTestId(`history-round-${ROUNDS}`)).toBeVisible();
  }
  const progressSeen = await pages[0]!.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
  expect(progressSeen.some((t) => t.startsWith('Pass 1 of 4'))).toBe(true);
  expect(progressSeen.some((t) => t.startsWith('Pass 4 of 4'))).toBe(true);

  await expect(admin.getByTestId('phase')).toHaveText('done');
  await expect(admin.getByTestId('round-row')).toHaveCount(ROUNDS);
  for (const n of await admin.getByTestId('round-participants').allTextContents()) expect(n).toBe('3');
  // Each tab first runs its backend ladder (self-check and benchmark): minutes on a loaded machine.
  await expect(admin.getByTestId('hospital-row')).toHaveCount(3, { timeout: 5 * 60_000 });
  // Every hospital reports the final model on its held-out slices; the admin averages them.
  const last = admin.locator(`[data-testid="round-row"][data-round="${ROUNDS}"] [data-testid="round-accuracy"]`);
  await expect(last).not.toHaveText('—');
  await expect(async () => {
    const row = admin.locator(`[data-testid="round-row"][data-round="${ROUNDS}"]`);
    await expect(row).toContainText(HOSPITALS[2]!);
  }).toPass();
  const accuracy = Number(await last.getAttribute('data-value'));
  console.log(`global accuracy after round ${ROUNDS} on the hospitals' held-out slices: ${(accuracy * 100).toFixed(1)}%`);
  expect(accuracy).toBeGreaterThan(MIN_ACCURACY);
  await expect(admin.getByTestId('accuracy-chart')).toBeVisible();

  // A reload keeps the imported slices (IndexedDB) and the token.
  await pages[0]!.reload();
  await expect(pages[0]!.getByTestId('hospital-name')).toHaveText(HOSPITALS[0]!);
  await expect(pages[0]!.getByTestId('slice-count')).not.toHaveText('0');
});
