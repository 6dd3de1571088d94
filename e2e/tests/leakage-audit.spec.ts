import { readFileSync } from 'node:fs';
import { expect, test, type Locator } from '@playwright/test';
import { startDemoFederation, type DemoFederation } from './fedward-server';
import { closePages, openAdmin, openHospital } from './pages';

/*
 * Issue 18: the admin's Audit view runs the gradient-inversion attack of @fedward/leakage-audit
 * in a worker, against a demo hospital simulated from the study's released global model (never a
 * hospital's own update), and shows each defence's originals, reconstructions, PSNR and SSIM
 * (PRECODE's with the demo hospital training small-cnn-vb, the defence's model).
 * Two browser hospitals keep the federation running meanwhile; the attack budget is tiny (one
 * slice, one restart, 20 iterations): this checks the pipeline, not the attack's strength.
 */
const HOSPITALS = ['hospital-a', 'hospital-b'];
const ADMIN_PASSWORD = 'e2e-audit-admin-password';
const Z = 1.5;

let fed: DemoFederation;

test.beforeAll(async () => {
  fed = await startDemoFederation({
    name: 'audit',
    hospitals: HOSPITALS,
    slicesPerHospital: 40,
    seed: 41,
    serverArgs: ['--rounds', '3', '--min-clients', '2', '--epochs', '1', '--batch-size', '16', '--learning-rate', '0.01',
      '--dp-noise', String(Z), '--dp-clip', '1', '--dp-epsilon', '1000', '--dp-delta', '1e-5'],
    adminPassword: ADMIN_PASSWORD,
  });
});

test.afterAll(async () => {
  await closePages();
  await fed?.server.stop();
});

/** Whether a canvas holds an image: its size, and more than one gray level among its pixels. */
const paintedLevels = (canvas: Locator) =>
  canvas.evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const levels = new Set<number>();
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] === 255) levels.add(data[i]!);
    return { width: c.width, height: c.height, levels: levels.size };
  });

test('the admin Audit view runs an attack on a running demo federation and shows images and PSNR', async ({ browser }) => {
  const admin = await openAdmin(browser, fed.server.url, ADMIN_PASSWORD);
  const pages = await Promise.all(HOSPITALS.map((h) => openHospital(browser, fed.server.url, fed.dataDir, h, fed.tokens[h]!)));
  for (const page of pages) await page.getByRole('button', { name: 'Join round' }).click();
  // Each tab first runs its backend ladder: minutes on a loaded machine.
  await expect(admin.locator('[data-testid="round-row"][data-round="1"]')).toBeVisible({ timeout: 10 * 60_000 });

  await admin.getByRole('link', { name: 'Audit' }).click();
  await expect(admin.getByRole('heading', { name: 'What one update leaks' })).toBeVisible();
  await expect(admin.getByText('This runs in your browser on demo slices, not on any hospital’s data.')).toBeVisible();
  // The study's public settings, not the admin's choice.
  await expect(admin.getByTestId('leakage-settings')).toContainText(`z = ${Z}`);

  await admin.getByLabel('Demo slices').selectOption('1');
  await admin.getByLabel('Local training steps').fill('1');
  await admin.getByLabel('Attack restarts').fill('1');
  await admin.getByLabel('Attack iterations per restart').fill('20');
  const defences = admin.getByRole('group', { name: 'Defences to compare' }).getByRole('checkbox');
  for (const box of await defences.all()) await box.uncheck();
  await admin.getByRole('checkbox', { name: 'No defence' }).check();
  await admin.getByRole('checkbox', { name: /^Client-level differential privacy/ }).check();
  await admin.getByRole('checkbox', { name: /^PRECODE/ }).check();
  // Keyboard: the Run button is reached and pressed without the mouse.
  await admin.getByRole('button', { name: 'Run attack' }).focus();
  await admin.keyboard.press('Enter');

  // Progress as the attack's generator yields, then the results, defence by defence.
  await expect(admin.getByTestId('leakage-loss')).toHaveText(/^\d+\.\d{4}$/, { timeout: 5 * 60_000 });
  await expect(admin.getByTestId('leakage-status')).toHaveAttribute('data-status', 'done', { timeout: 10 * 60_000 });
  await expect(admin.getByTestId('leakage-status')).toContainText(/round [1-9]\d*’s global model/);

  for (const defence of ['none', 'dp', 'precode']) {
    const row = admin.locator(`[data-testid="leakage-result"][data-defence="${defence}"]`);
    await expect(row).toBeVisible();
    const psnr = Number(await row.getByTestId('leakage-psnr').textContent());
    expect(Number.isFinite(psnr), `${defence}: PSNR ${psnr}`).toBe(true);
    const ssim = Number(await row.getByTestId('leakage-ssim').textContent());
    expect(ssim).toBeGreaterThanOrEqual(-1);
    expect(ssim).toBeLessThanOrEqual(1);
    for (const which of ['leakage-original', 'leakage-reconstruction']) {
      const canvas = row.getByTestId(which);
      await expect(canvas).toHaveCount(1);
      const painted = await paintedLevels(canvas);
      expect(painted.width * painted.height, `${defence} ${which}`).toBe(32 * 32);
      expect(painted.levels, `${defence} ${which}: gray levels`).toBeGreaterThan(1);
    }
    if (defence === 'dp') expect(Number(await row.getByTestId('leakage-epsilon').textContent())).toBeGreaterThan(0);

    // The download is the CLI's --json summary of this defence.
    const [download] = await Promise.all([admin.waitForEvent('download'), row.getByRole('button', { name: 'Download Results (JSON)' }).click()]);
    expect(download.suggestedFilename()).toBe(`leakage-audit-${defence}.json`);
    const json = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Record<string, unknown>;
    // PRECODE's demo hospital trains small-cnn-vb (the CLI's --defence precode fields).
    const model = defence === 'precode' ? { model: 'small-cnn-vb', vb_k: 16, attacker_noise: 'mean' } : { model: 'small-cnn' };
    expect(json).toMatchObject({ defence, images: 1, restarts: 1, iterations: 20, local_steps: 1, input_size: 32, ...model });
    expect(json['psnr_db']).toEqual([Number(psnr.toFixed(2))]);
    expect((json['ssim'] as number[]).length).toBe(1);
    expect('epsilon' in json).toBe(defence === 'dp');

    const [png] = await Promise.all([admin.waitForEvent('download'), row.getByRole('button', { name: 'Download Reconstruction 1 (PNG)' }).click()]);
    expect(png.suggestedFilename()).toBe(`${defence}-reconstruction-0.png`);
    expect(readFileSync((await png.path())!).subarray(1, 4).toString('latin1')).toBe('PNG');
  }
});
