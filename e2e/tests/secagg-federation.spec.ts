import { expect, test } from '@playwright/test';
import { startDemoFederation, type ServerProcess } from './fedward-server';
import { messageCutProxy, type MessageCutProxy } from './message-cut-proxy';
import { closePages, openAdmin, openHospital } from './pages';

/*
 * Secure aggregation with DP in the browser: four hospital tabs mask their sums; hospital-d's tab
 * is cut off the moment the server asks it to reveal its shares, i.e. after it uploaded its masked
 * input. The other three reveal enough (t = 3) to remove every mask, so the round completes with
 * all four inputs in the sum, and the admin page says who dropped at which step.
 */
const HOSPITALS = ['hospital-a', 'hospital-b', 'hospital-c', 'hospital-d'];
const ADMIN_PASSWORD = 'e2e-secagg-admin-password';

let server: ServerProcess;
let dataDir: string;
let tokens: Record<string, string>;
let proxy: MessageCutProxy;

test.beforeAll(async () => {
  ({ server, dataDir, tokens } = await startDemoFederation({
    name: 'secagg',
    hospitals: HOSPITALS,
    slicesPerHospital: 60,
    seed: 21,
    serverArgs: ['--rounds', '1', '--min-clients', '4', '--epochs', '1', '--batch-size', '16', '--learning-rate', '0.01',
      '--dp-noise', '1', '--dp-clip', '1', '--dp-epsilon', '1000', '--dp-vn', '1', '--secagg', '--secagg-threshold', '3'],
    adminPassword: ADMIN_PASSWORD,
  }));
  proxy = await messageCutProxy(server.url, '"secagg-unmask"');
});

test.afterAll(async () => {
  await closePages();
  await proxy?.close();
  await server?.stop();
});

test('four browser hospitals aggregate securely under DP; a tab that closes after uploading its masked input is still in the sum', async ({ browser }) => {
  const admin = await openAdmin(browser, server.url, ADMIN_PASSWORD);
  await expect(admin.getByTestId('secagg-panel')).toContainText('at least 3');
  const pages = await Promise.all(HOSPITALS.map((h) => openHospital(browser, h === 'hospital-d' ? proxy.url : server.url, dataDir, h, tokens[h]!)));
  // The plan each hospital accepted says what secure aggregation sends.
  await expect(pages[0]!.getByTestId('plan-secagg')).toContainText('at least 3 hospitals');
  for (const page of pages) await page.getByRole('button', { name: 'Join round' }).click();

  // hospital-d uploads its masked sum; the server's reveal request to it is where its tab goes.
  await proxy.cut;
  await expect(pages[3]!.getByTestId('secagg')).toHaveAttribute('data-stage', 'mask');
  await pages[3]!.close();

  for (const page of pages.slice(0, 3)) {
    await expect(page.getByTestId('phase')).toHaveText('Federation finished', { timeout: 10 * 60_000 });
    await expect(page.getByTestId('secagg-result')).toHaveAttribute('data-summed', '4');
    await expect(page.getByTestId('secagg-result')).toContainText('dropped: hospital-d');
  }
  await expect(admin.getByTestId('phase')).toHaveText('done');
  await expect(admin.getByTestId('secagg-stage')).toHaveAttribute('data-stage', 'done');
  await expect(admin.getByTestId('secagg-tn')).toHaveText('3 / 4');
  await expect(admin.getByTestId('secagg-summed')).toContainText('4 hospitals');
  await expect(admin.getByTestId('secagg-dropped')).toHaveText(/^hospital-d after uploading, before revealing shares/);
  // All four masked inputs are in the released, noised mean: M = 4 updates of one sub-client each.
  const row = admin.getByTestId('dp-round-row');
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('dp-updates')).toHaveText('4');
});
