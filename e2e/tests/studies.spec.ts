import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { readOnnx } from '@fedward/models/onnx';
import { startDemoFederation, tempDir, type DemoFederation } from './fedward-server';
import { acceptPlan, closePages, newPage, openAdmin } from './pages';

/*
 * Studies from the dashboard: the admin creates a second study on the page (its own settings,
 * DP with z calibrated from a target ε), enrols a hospital that already has a token and a new
 * one, and starts it; the start flags' study runs at the same time on the same server. Each
 * hospital sees only its studies and cannot join before it accepted the study's plan. Its
 * receipts list every message and field the server received from it (the server's
 * --record-received file), and they survive a reload.
 */
const ADMIN_PASSWORD = 'e2e-admin-password';
let fed: DemoFederation;
let received: string;

test.beforeAll(async () => {
  received = join(tempDir('fedward-e2e-received-'), 'received.jsonl');
  fed = await startDemoFederation({
    name: 'studies',
    hospitals: ['hospital-a', 'hospital-b', 'hospital-c'],
    slicesPerHospital: 48,
    seed: 21,
    serverArgs: ['--rounds', '2', '--min-clients', '1', '--epochs', '1', '--batch-size', '16', '--record-received', received],
    adminPassword: ADMIN_PASSWORD,
  });
});

test.afterAll(async () => {
  await closePages();
  await fed?.server.stop();
});

/** A hospital tab with its token checked and its slices imported (the plan is not accepted yet). */
async function hospitalTab(browser: Parameters<typeof newPage>[0], hospital: string, token: string): Promise<Page> {
  const page = await newPage(browser);
  page.on('pageerror', (e) => console.log(`[${hospital}] page error: ${e.message}`));
  await page.goto(fed.server.url + '/');
  await page.getByLabel('Enrolment token').fill(token);
  await page.getByRole('button', { name: 'Check token' }).click();
  await expect(page.getByTestId('hospital-name')).toHaveText(hospital);
  return page;
}

/**
 * "Join round" becomes enabled. Polled with what the page says beside it, so that a failure
 * prints the blockers and the phase it was stuck on (a run on a loaded machine once timed out
 * here with no clue which).
 */
async function expectJoinable(page: Page): Promise<void> {
  const state = async () => ({
    enabled: await page.getByRole('button', { name: 'Join round' }).isEnabled(),
    blockers: await page.getByTestId('join-blockers').allTextContents(),
    phase: await page.getByTestId('phase').allTextContents(),
    slices: await page.getByTestId('slice-count').allTextContents(),
  });
  await expect.poll(state, { timeout: 30_000 }).toMatchObject({ enabled: true });
}

async function importSlices(page: Page, hospital: string): Promise<void> {
  await page.getByTestId('folder-input').setInputFiles(join(fed.dataDir, hospital));
  await expect(page.getByTestId('slice-count')).toHaveText('48', { timeout: 60_000 });
}

test('the admin creates and runs a second study; hospitals see only theirs and accept its plan before joining', async ({ browser }) => {
  test.setTimeout(12 * 60_000);
  const admin = await openAdmin(browser, fed.server.url, ADMIN_PASSWORD);

  // A second study, configured on the page.
  await admin.getByRole('button', { name: 'New study…' }).click();
  const form = admin.getByRole('form', { name: 'New study' });
  await form.getByLabel('Name', { exact: true }).fill('Second study');
  await form.getByLabel('Rounds', { exact: true }).fill('2');
  await form.getByLabel('Minimum hospitals per round').fill('2');
  await form.getByLabel('Passes over the local slices per round (epochs)').fill('1');
  await form.getByLabel('Differential privacy').selectOption('on');
  await form.getByLabel('Whom the budget protects').selectOption('patient');
  await form.getByLabel('Budget: largest ε over the whole study').fill('30');
  await form.getByLabel('Updates per hospital per round (sub-clients)').selectOption('fixed');
  await form.getByLabel('Updates per hospital per round', { exact: true }).fill('1');
  await form.getByRole('button', { name: 'Create study' }).click();
  await expect(admin.getByRole('heading', { name: 'Second study', level: 2 })).toBeVisible();
  await expect(admin.getByTestId('study-status')).toHaveText('Draft (not started)');
  await expect(admin.getByTestId('studies').getByRole('row')).toHaveCount(3); // header + two studies

  // Enrol hospital-b (it has a token from the first study) and a new hospital-c.
  await admin.getByRole('checkbox', { name: 'hospital-b' }).check();
  await expect(admin.getByRole('checkbox', { name: 'hospital-b' })).toBeChecked();
  await admin.getByLabel('Hospital name').fill('hospital-c2');
  await admin.getByRole('button', { name: 'Create enrolment token' }).click();
  const tokenC = (await admin.getByTestId('new-token-value').textContent())!.trim();
  await admin.getByRole('button', { name: 'Start study' }).click();
  await expect(admin.getByTestId('study-status')).toHaveText('Running');

  // hospital-a sees only the first study; hospital-b both; hospital-c2 only the second.
  const a = await hospitalTab(browser, 'hospital-a', fed.tokens['hospital-a']!);
  await expect(a.getByTestId('studies').getByRole('radio')).toHaveCount(1);
  await expect(a.getByTestId('studies')).toContainText('Demo federation');
  const b = await hospitalTab(browser, 'hospital-b', fed.tokens['hospital-b']!);
  await expect(b.getByTestId('studies').getByRole('radio')).toHaveCount(2);
  const c = await hospitalTab(browser, 'hospital-c2', tokenC);
  await expect(c.getByTestId('studies').getByRole('radio')).toHaveCount(1);
  await expect(c.getByTestId('studies')).toContainText('Second study');

  // No joining before a study is chosen and its plan accepted (with the slices imported, the plan is the only blocker).
  await expect(b.getByRole('button', { name: 'Join round' })).toBeDisabled();
  await expect(b.getByTestId('join-blockers')).toContainText('Choose a study');
  await b.getByRole('radio', { name: /Second study/ }).check();
  await importSlices(b, 'hospital-b');
  await expect(b.getByRole('button', { name: 'Join round' })).toBeDisabled();
  await expect(b.getByTestId('join-blockers')).toHaveText(/Review the study's plan and accept it/);
  await expect(b.getByTestId('plan')).toContainText('ε = 30 per patient');
  await acceptPlan(b);
  await expectJoinable(b);

  await acceptPlan(a);
  await importSlices(a, 'hospital-a');
  await importSlices(c, 'hospital-c');
  await acceptPlan(c);

  for (const page of [a, b, c]) await page.getByRole('button', { name: 'Join round' }).click();
  for (const page of [a, b, c]) await expect(page.getByTestId('phase')).toHaveText('Federation finished', { timeout: 8 * 60_000 });
  await expect(admin.getByTestId('studies')).toContainText('2 of 2');

  // The second study spent privacy: the hospital page says how much, per patient and per hospital.
  await expect(c.getByTestId('epsilon-patient')).not.toHaveText('0.00');
  const patientEps = Number(await c.getByTestId('epsilon-patient').textContent());
  expect(patientEps).toBeGreaterThan(0);
  expect(patientEps).toBeLessThanOrEqual(30);

  // Receipts: every message the server received from hospital-c2 in the second study, with the
  // same fields, is on its receipts; and they are still there after a reload.
  const onServer = readFileSync(received, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { study: string; hospital: string; message: string; fields: Record<string, unknown> })
    .filter((m) => m.study === 'second-study' && m.hospital === 'hospital-c2');
  expect(onServer.length).toBeGreaterThan(5);
  const receiptsOf = async (page: Page) =>
    page
      .getByTestId('receipt')
      .evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-message')}:${(r.getAttribute('data-fields') ?? '').split(',').sort().join(',')}`));
  const expectedRows = onServer.map((m) => `${m.message}:${Object.keys(m.fields).sort().join(',')}`);
  const countBy = (rows: string[]) => rows.reduce<Record<string, number>>((n, r) => ({ ...n, [r]: (n[r] ?? 0) + 1 }), {});
  const check = async (page: Page) => {
    await expect(page.getByTestId('receipt-count')).toHaveText(/^\d+$/);
    const rows = countBy(await receiptsOf(page));
    for (const [row, n] of Object.entries(countBy(expectedRows))) expect(rows[row] ?? 0, row).toBeGreaterThanOrEqual(n);
  };
  await check(c);
  const before = await c.getByTestId('receipt-count').textContent();
  await c.reload();
  await expect(c.getByTestId('receipt-count')).toHaveText(before!);
  await check(c);

  // The admin takes the second study's model home: TF.js files of its round-2 global model.
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('button', { name: 'Model (TF.js): model.json' }).click()]);
  expect(download.suggestedFilename()).toBe('second-study-model.json');
  const modelJson = JSON.parse(readFileSync(await download.path(), 'utf8')) as { format: string; weightsManifest: { paths: string[] }[]; userDefinedMetadata: { fedward: { round: number; spec: { kind: string } } } };
  expect(modelJson.format).toBe('layers-model');
  expect(modelJson.weightsManifest[0]!.paths).toEqual(['weights.bin']);
  expect(modelJson.userDefinedMetadata.fedward.round).toBe(2);
  const [weights] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('button', { name: 'Model (TF.js): weights.bin' }).click()]);
  expect(readFileSync(await weights.path()).byteLength).toBeGreaterThan(1000);
  // The same round as an ONNX file: a ModelProto that names its round and model, standard operators only.
  const [onnxFile] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('button', { name: 'Model (ONNX): model.onnx' }).click()]);
  expect(onnxFile.suggestedFilename()).toBe('second-study-model.onnx');
  const onnx = readOnnx(readFileSync(await onnxFile.path()));
  expect(onnx.opsets).toEqual([{ domain: '', version: 13 }]);
  expect(onnx.info?.round).toBe(2);
  expect(onnx.info?.spec.kind).toBe(modelJson.userDefinedMetadata.fedward.spec.kind);

  // Its privacy card: the ledger's last ε is what the admin page shows as spent.
  const [cardFile] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('button', { name: 'Privacy model card (JSON)' }).click()]);
  const card = JSON.parse(readFileSync(await cardFile.path(), 'utf8')) as { privacy: { ledger: { round: number; epsilon: { patient: number; hospital: number } }[] } };
  expect(card.privacy.ledger.map((e) => e.round)).toEqual([1, 2]);
  const last = card.privacy.ledger.at(-1)!.epsilon;
  const shown = Number(await admin.getByTestId('privacy').getByTestId('epsilon-patient').textContent());
  expect(Math.abs(shown - last.patient)).toBeLessThan(0.0011);
  const [html] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('button', { name: 'Privacy model card (printable page)' }).click()]);
  expect(readFileSync(await html.path(), 'utf8')).toContain('Second study');

  // The hospital takes the same model home from its own page, with its own copy of the card:
  // the same ledger, and only its own counts and results.
  const home = c.getByTestId('take-home');
  await expect(home).toContainText('after 2 rounds');
  const [hospitalModel] = await Promise.all([c.waitForEvent('download'), home.getByRole('button', { name: 'Model (TF.js): weights.bin' }).click()]);
  expect(hospitalModel.suggestedFilename()).toBe('second-study-weights.bin');
  expect(readFileSync(await hospitalModel.path())).toEqual(readFileSync(await weights.path()));
  const [hospitalOnnx] = await Promise.all([c.waitForEvent('download'), home.getByRole('button', { name: 'Model (ONNX): model.onnx' }).click()]);
  expect(readFileSync(await hospitalOnnx.path())).toEqual(readFileSync(await onnxFile.path()));
  const [copyFile] = await Promise.all([c.waitForEvent('download'), home.getByRole('button', { name: 'Privacy model card (JSON)' }).click()]);
  const copy = JSON.parse(readFileSync(await copyFile.path(), 'utf8')) as typeof card & { copyFor: string; data: { hospital: string }[]; evaluation: { hospital: string }[] };
  expect(copy.copyFor).toBe('hospital-c2');
  expect(copy.privacy.ledger).toEqual(card.privacy.ledger);
  expect(copy.data.map((d) => d.hospital)).toEqual(['hospital-c2']);
  expect(copy.evaluation.length).toBeGreaterThan(0);
  expect(copy.evaluation.every((e) => e.hospital === 'hospital-c2')).toBe(true);
});
