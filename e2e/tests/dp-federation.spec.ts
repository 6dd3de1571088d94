import { expect, test } from '@playwright/test';
import { startDemoFederation, type ServerProcess } from './fedward-server';
import { closePages, openAdmin, openHospital } from './pages';

/*
 * Client-level DP with adaptive intermediaries, in the browser: three hospital tabs (one
 * context each), DP-FedAvg with z = 2 and C = 1, VN chosen by the adaptive rule. Round 1 is
 * the probe (VN = 1, aggregate discarded); the server then asks for more sub-clients, every
 * sub-client of every hospital uploads, and the admin page shows ε per hospital and per
 * sub-client with each round's record (C, σ, ‖A‖, ‖noise‖, λ, v, VN).
 */
const HOSPITALS = ['hospital-a', 'hospital-b', 'hospital-c'];
const ROUNDS = 3;
const ADMIN_PASSWORD = 'e2e-dp-admin-password';

let server: ServerProcess;
let dataDir: string;
let tokens: Record<string, string>;

test.beforeAll(async () => {
  ({ server, dataDir, tokens } = await startDemoFederation({
    name: 'dp',
    hospitals: HOSPITALS,
    slicesPerHospital: 120,
    seed: 13,
    serverArgs: ['--rounds', String(ROUNDS), '--min-clients', '3', '--epochs', '2', '--batch-size', '16', '--learning-rate', '0.01', '--dp-noise', '2', '--dp-clip', '1', '--dp-epsilon', '1000', '--dp-delta', '1e-5', '--dp-vn', 'adaptive'],
    adminPassword: ADMIN_PASSWORD,
  }));
});

test.afterAll(async () => {
  await closePages();
  await server?.stop();
});

test('three browser hospitals run DP-FedAvg with adaptive sub-clients; the admin sees ε in both units', async ({ browser }) => {
  const admin = await openAdmin(browser, server.url, ADMIN_PASSWORD);
  await expect(admin.getByTestId('vn-mode')).toContainText('adaptive intermediary');
  await expect(admin.getByTestId('next-vn')).toHaveText('1');
  const pages = await Promise.all(HOSPITALS.map((h) => openHospital(browser, server.url, dataDir, h, tokens[h]!)));
  for (const page of pages) await page.getByRole('button', { name: 'Join round' }).click();

  // After the probe round the server asks for more than one sub-client; each tab shows their progress.
  const subClients = pages[0]!.getByTestId('sub-clients');
  await expect(subClients).toBeVisible({ timeout: 10 * 60_000 });
  const vn = Number(await subClients.getAttribute('data-count'));
  expect(vn).toBeGreaterThan(1);
  await expect(pages[0]!.getByTestId(`sub-client-${vn}`)).toBeVisible();

  for (const page of pages) {
    await expect(page.getByTestId('phase')).toHaveText('Federation finished', { timeout: 15 * 60_000 });
  }
  await expect(admin.getByTestId('phase')).toHaveText('done');
  const rows = admin.getByTestId('dp-round-row');
  await expect(rows).toHaveCount(ROUNDS);
  // Round 1: the probe, VN 1, three updates; it chose the VN of round 2.
  await expect(rows.nth(0)).toContainText('probe, discarded');
  await expect(rows.nth(0).getByTestId('dp-vn')).toHaveText('1');
  await expect(rows.nth(0).getByTestId('dp-updates')).toHaveText('3');
  const chosen = Number(await rows.nth(0).getByTestId('dp-next-vn').textContent());
  expect(chosen).toBe(vn);
  // Round 2: every sub-client of every hospital uploaded (each hospital has more patients than VN).
  await expect(rows.nth(1).getByTestId('dp-vn')).toHaveText(String(vn));
  await expect(rows.nth(1).getByTestId('dp-updates')).toHaveText(String(3 * vn));
  for (const cell of ['dp-lambda', 'dp-eps-hospital', 'dp-eps-subclient']) {
    for (const text of await rows.getByTestId(cell).allTextContents()) expect(Number(text)).toBeGreaterThan(0);
  }
  // Both units, in plain words: a hospital (VN sub-clients together) spends more than one sub-client.
  const hospitalEps = Number(await admin.getByTestId('epsilon-hospital').textContent());
  const subClientEps = Number(await admin.getByTestId('epsilon-subclient').textContent());
  console.log(`adaptive VN after the probe: ${vn}; ε per hospital ${hospitalEps}, per sub-client ${subClientEps}`);
  expect(hospitalEps).toBeGreaterThan(subClientEps);
  expect(subClientEps).toBeGreaterThan(0);
});
