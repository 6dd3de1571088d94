import { expect, test } from '@playwright/test';
import { startDemoFederation, type ServerProcess } from './fedward-server';
import { closePages, openAdmin, openHospital } from './pages';

/*
 * PRR-FL in the browser: two hospital tabs train a personalized model and a deputy with
 * Deputy-Enhanced Transfer (VGG-slim with batch norm), the server sends each its own Progressive
 * Fourier Aggregation result, and the admin sees each hospital's personalized and deputy accuracy.
 */
const HOSPITALS = ['hospital-a', 'hospital-b'];
const ROUNDS = 2;
const ADMIN_PASSWORD = 'e2e-prr-admin-password';

let server: ServerProcess;
let dataDir: string;
let tokens: Record<string, string>;

test.beforeAll(async () => {
  ({ server, dataDir, tokens } = await startDemoFederation({
    name: 'prr',
    hospitals: HOSPITALS,
    slicesPerHospital: 120, // enough that the held-out split (whole patients, salted hash) almost never falls under the 4-slice minimum
    seed: 17,
    serverArgs: ['--rounds', String(ROUNDS), '--min-clients', '2', '--model', 'vgg-slim', '--personalization', 'prr-fl', '--epochs', '3', '--batch-size', '8', '--learning-rate', '0.05'],
    adminPassword: ADMIN_PASSWORD,
  }));
});

test.afterAll(async () => {
  await closePages();
  await server?.stop();
});

test('two browser hospitals run PRR-FL: DET stages, personalized and deputy accuracy, per-hospital results', async ({ browser }) => {
  const admin = await openAdmin(browser, server.url, ADMIN_PASSWORD);
  await expect(admin.getByTestId('personalization')).toContainText('PRR-FL');
  const pages = await Promise.all(HOSPITALS.map((h) => openHospital(browser, server.url, dataDir, h, tokens[h]!)));
  for (const page of pages) await page.getByRole('button', { name: 'Join round' }).click();

  // Each round starts in Recover: the personalized model teaches the deputy.
  await expect(pages[0]!.getByTestId('det-stage')).toHaveAttribute('data-stage', 'recover', { timeout: 10 * 60_000 });
  for (const page of pages) {
    await expect(page.getByTestId('phase')).toHaveText('Federation finished', { timeout: 15 * 60_000 });
    await expect(page.getByTestId(`history-round-${ROUNDS}`).getByTestId('deputy-accuracy')).not.toHaveText('—');
  }
  await expect(admin.getByTestId('phase')).toHaveText('done');
  const last = admin.locator(`[data-testid="personalization-row"][data-round="${ROUNDS}"]`);
  for (const h of HOSPITALS) await expect(last.getByTestId(`personal-${h}`)).toContainText(/%.*\/.*%/);
  // Both models are in the hospital's IndexedDB (the personalized one never left it).
  const kept = await pages[0]!.evaluate(
    () =>
      new Promise<{ personal: number; deputy: number }>((resolve, reject) => {
        const open = indexedDB.open('fedward-training');
        open.onerror = () => reject(new Error('no fedward-training database'));
        open.onsuccess = () => {
          const all = open.result.transaction('sub-client-states').objectStore('sub-client-states').getAll();
          all.onsuccess = () => {
            const v = (all.result as { personal?: Uint8Array; deputy?: Uint8Array }[])[0];
            resolve({ personal: v?.personal?.byteLength ?? 0, deputy: v?.deputy?.byteLength ?? 0 });
          };
        };
      }),
  );
  expect(kept.personal).toBeGreaterThan(1000);
  expect(kept.deputy).toBe(kept.personal);
  const cells = await last.locator('td').allTextContents();
  console.log(`after round ${ROUNDS}, personalized / deputy accuracy: ${cells.slice(1).join(' · ')}`);
});
