import { expect, test } from '@playwright/test';
import { startDemoFederation, type ServerProcess } from './fedward-server';
import { closePages, openAdmin, openHospital } from './pages';

/*
 * Client-level DP in the browser: three hospital tabs (one context each), DP-FedAvg on the
 * integer grid with discrete Gaussian noise, z = 2, C = 1, and the data-independent VN heuristic
 * ⌊√(z·√d/N)⌋. Every hospital splits its patients into VN sub-clients by a keyed hash and sends
 * exactly VN updates. The admin page shows ε per patient and per hospital; this test recomputes
 * both from the released settings with its own RDP arithmetic.
 */
const HOSPITALS = ['hospital-a', 'hospital-b', 'hospital-c'];
const ROUNDS = 3;
const DELTA = 1e-5;
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
    serverArgs: ['--rounds', String(ROUNDS), '--min-clients', '3', '--epochs', '2', '--batch-size', '16', '--learning-rate', '0.01', '--dp-noise', '2', '--dp-clip', '1', '--dp-epsilon', '1000', '--dp-delta', String(DELTA), '--dp-vn', 'heuristic'],
    adminPassword: ADMIN_PASSWORD,
  }));
});

test.afterAll(async () => {
  await closePages();
  await server?.stop();
});

/**
 * ε at δ for Gaussian-type releases with the given noise multipliers, composed: RDP α/(2μ²) each,
 * summed, then dp_accounting's conversion ε = min_α [R(α) + ln(1 − 1/α) − (ln δ + ln α)/(α − 1)]
 * over its default orders. Written here independently of packages/privacy.
 */
function epsilon(multipliers: number[], delta: number): number {
  const orders = [...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10), ...Array.from({ length: 53 }, (_, i) => 11 + i), 128, 256, 512, 1024];
  const perAlpha = multipliers.reduce((s, mu) => s + 1 / (2 * mu * mu), 0);
  return Math.min(...orders.map((a) => a * perAlpha + Math.log1p(-1 / a) - (Math.log(delta) + Math.log(a)) / (a - 1)));
}

test('three browser hospitals run DP-FedAvg with sub-clients; the admin’s ε per patient and per hospital match an independent computation', async ({ browser }) => {
  const admin = await openAdmin(browser, server.url, ADMIN_PASSWORD);
  await expect(admin.getByTestId('vn-mode')).toContainText('public settings only');
  const vn = Number(await admin.getByTestId('next-vn').textContent());
  // d = 1,282 weights of the 32-px small CNN, N = 3: ⌊√(2·√1282/3)⌋ = 4.
  expect(vn).toBe(4);
  const pages = await Promise.all(HOSPITALS.map((h) => openHospital(browser, server.url, dataDir, h, tokens[h]!)));
  for (const page of pages) await page.getByRole('button', { name: 'Join round' }).click();

  // Each tab shows its VN sub-clients' progress.
  const subClients = pages[0]!.getByTestId('sub-clients');
  await expect(subClients).toBeVisible({ timeout: 10 * 60_000 });
  expect(Number(await subClients.getAttribute('data-count'))).toBe(vn);

  for (const page of pages) {
    await expect(page.getByTestId('phase')).toHaveText('Federation finished', { timeout: 15 * 60_000 });
  }
  await expect(admin.getByTestId('phase')).toHaveText('done');
  const rows = admin.getByTestId('dp-round-row');
  await expect(rows).toHaveCount(ROUNDS);
  const releases: { sigma: number; perUpdate: number }[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Every hospital sent exactly VN updates, whatever its patients.
    await expect(rows.nth(r).getByTestId('dp-vn')).toHaveText(String(vn));
    await expect(rows.nth(r).getByTestId('dp-updates')).toHaveText(String(3 * vn));
    releases.push(JSON.parse((await rows.nth(r).getAttribute('data-releases'))!) as { sigma: number; perUpdate: number }[]);
  }
  // The relations as stated on the page: a patient's slices sit in one sub-client (one update),
  // a hospital's in all VN; each release's multiplier is σ/(updates touched · one update's sensitivity).
  await expect(admin.getByText(/add or remove all slices of one patient/)).toBeVisible();
  const patient = epsilon(releases.flat().map((x) => x.sigma / x.perUpdate), DELTA);
  const hospital = epsilon(releases.flat().map((x) => x.sigma / (vn * x.perUpdate)), DELTA);
  const shownPatient = Number(await admin.getByTestId('epsilon-patient').textContent());
  const shownHospital = Number(await admin.getByTestId('epsilon-hospital').textContent());
  console.log(`VN ${vn}; ε per patient ${shownPatient} (recomputed ${patient.toFixed(4)}), per hospital ${shownHospital} (recomputed ${hospital.toFixed(4)})`);
  // The page rounds to 3 decimals.
  expect(Math.abs(shownPatient - patient)).toBeLessThan(6e-4);
  expect(Math.abs(shownHospital - hospital)).toBeLessThan(6e-4);
  expect(shownHospital).toBeGreaterThan(shownPatient);
  const lastRow = await rows.nth(ROUNDS - 1).getByTestId('dp-eps-patient').textContent();
  expect(Number(lastRow)).toBeCloseTo(shownPatient, 3);
});
