import { expect, test, type Page } from '@playwright/test';
import { generateFederation, startDemoFederation, tempDir, type ServerProcess } from './fedward-server';
import { closePages, openAdmin, openHospital } from './pages';

/*
 * Issue 16's acceptance in the browser: three hospital tabs (one context each) train the small
 * CNN with DP-SGD on their own patients (σ = 2, C = 1, expected batch 4, Poisson sampling), each
 * with its own budget ε = 6.5 per patient at δ = 1e-5. The same settings spend a small hospital's
 * budget faster: hospital-c has 9 training patients (q = 4/9), hospital-a 24 and hospital-b 16.
 * Its local accountant says ε ≈ 3.22 after round 1 and 5.08 after round 2; round 3 would take it
 * to 6.74, so its watchdog stops it before round 3, while a (4.97) and b (6.36) finish all 4
 * rounds. Each page's local ε is read after every epoch; the federation goes on without c.
 */
const HOSPITALS = ['hospital-a', 'hospital-b', 'hospital-c'];
const ROUNDS = 4;
const EPOCHS = 2;
const TARGET = 6.5;
const ADMIN_PASSWORD = 'e2e-dp-sgd-admin-password';

let server: ServerProcess;
let dataDir: string;
/** A second generated federation with few slices: its hospital-c (12 patients of 3 slices, 9 for training) joins. */
let smallDir: string;
let tokens: Record<string, string>;

test.beforeAll(async () => {
  ({ server, dataDir, tokens } = await startDemoFederation({
    name: 'dp-sgd',
    hospitals: HOSPITALS,
    slicesPerHospital: 120,
    seed: 17,
    // minClients 2: the federation may go on with two hospitals once c has stopped; the admin
    // holds the study paused until all three are ready, so round 1 starts with all three.
    serverArgs: ['--rounds', String(ROUNDS), '--min-clients', '2', '--epochs', String(EPOCHS), '--batch-size', '4', '--learning-rate', '0.01',
      '--dp-sgd-noise', '2', '--dp-sgd-clip', '1', '--dp-sgd-epsilon', String(TARGET), '--dp-sgd-delta', '1e-5'],
    adminPassword: ADMIN_PASSWORD,
  }));
  smallDir = tempDir('fedward-e2e-dp-sgd-small-');
  generateFederation(smallDir, ['--format', 'png', '--hospitals', '3', '--size', '32', '--slices-per-hospital', '36', '--seed', '17']);
});

test.afterAll(async () => {
  await closePages();
  await server?.stop();
});

/** Keeps every text the page's local-ε status line shows, in order (a MutationObserver sees each render). */
async function recordLocalEpsilon(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { localEpsilon: string[] }).localEpsilon = seen;
    const look = () => {
      const t = document.querySelector('[data-testid="dp-sgd-local-epsilon"]')?.textContent;
      if (t && t !== seen[seen.length - 1]) seen.push(t);
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

const LINE = /^Local ε per patient: (\d+\.\d{3}) of 6\.5 \(round (\d+), epoch (\d+) of 2\)/;

/** The local ε readings after each epoch: round, epoch and ε as the page showed them. */
async function readings(page: Page): Promise<{ round: number; epoch: number; epsilon: number }[]> {
  const texts = await page.evaluate(() => (window as unknown as { localEpsilon: string[] }).localEpsilon);
  return texts.flatMap((t) => {
    const m = LINE.exec(t);
    return m ? [{ epsilon: Number(m[1]), round: Number(m[2]), epoch: Number(m[3]) }] : [];
  });
}

/**
 * The readings go forward epoch by epoch up to the last epoch of `rounds`, and ε grows with each.
 * Not every epoch need be seen: on a busy machine React may render two epochs' events at once.
 */
function expectGrowing(name: string, r: { round: number; epoch: number; epsilon: number }[], rounds: number): void {
  console.log(`${name}: local ε per epoch ${r.map((x) => `r${x.round}e${x.epoch} ${x.epsilon}`).join(', ')}`);
  const order = r.map(({ round, epoch }) => round * EPOCHS + epoch);
  for (let i = 1; i < order.length; i++) expect(order[i]!).toBeGreaterThan(order[i - 1]!);
  expect(r.length).toBeGreaterThanOrEqual(Math.min(3, rounds * EPOCHS));
  expect(r[r.length - 1]).toMatchObject({ round: rounds, epoch: EPOCHS });
  for (let i = 1; i < r.length; i++) expect(r[i]!.epsilon).toBeGreaterThan(r[i - 1]!.epsilon);
  expect(r[r.length - 1]!.epsilon).toBeLessThanOrEqual(TARGET);
}

test('three browser hospitals train with DP-SGD; each shows its local ε per epoch; the watchdog stops the small one and the others go on', async ({ browser }) => {
  test.setTimeout(15 * 60_000);
  const admin = await openAdmin(browser, server.url, ADMIN_PASSWORD);
  const roundRow = (n: number) => admin.locator(`[data-testid="round-row"][data-round="${n}"]`);
  const state = (name: string) => admin.getByTestId('hospital-row').filter({ hasText: name }).getByTestId('hospital-state');
  await admin.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(admin.getByTestId('study-status')).toHaveText('Paused');

  const pages = await Promise.all(HOSPITALS.map((h) => openHospital(browser, server.url, h === 'hospital-c' ? smallDir : dataDir, h, tokens[h]!)));
  // The plan each hospital accepted says it trains with DP-SGD and stops at its own budget.
  await expect(pages[2]!.getByTestId('plan-dp-sgd')).toContainText(`stops training before ε per patient would pass ${TARGET}`);
  for (const page of pages) await recordLocalEpsilon(page);
  for (const page of pages) await page.getByRole('button', { name: 'Join round' }).click();
  // All three ready (after each tab's backend ladder: minutes on a loaded machine), then the study runs.
  for (const h of HOSPITALS) await expect(state(h)).toHaveAttribute('data-state', 'ready', { timeout: 5 * 60_000 });
  await admin.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(admin.getByTestId('study-status')).toHaveText('Running');

  // hospital-c: rounds 1 and 2, then its watchdog stops it before round 3, and says why.
  const [a, b, c] = pages as [Page, Page, Page];
  const stopped = c.getByTestId('dp-sgd-stopped');
  await expect(stopped).toBeVisible({ timeout: 10 * 60_000 });
  const stoppedAt = Date.now();
  await expect(roundRow(2)).toBeVisible();
  const why = /before round 3: that round would take ε per patient from (\d+\.\d{3}) \(spent so far\) to (\d+\.\d{3}), past this hospital’s budget of 6\.5/.exec((await stopped.textContent())!);
  expect(why, 'the stop names spent, projected and budget').not.toBeNull();
  const [spent, projected] = [Number(why![1]), Number(why![2])];
  expect(spent).toBeLessThanOrEqual(TARGET);
  expect(projected).toBeGreaterThan(TARGET);
  await expect(c.getByTestId('phase')).toHaveText('Stopped: this hospital’s privacy budget is spent');
  await expect(c.getByRole('button', { name: 'Leave' })).toHaveCount(0);
  // Its status line keeps what it spent, with no epoch any more.
  await expect(c.getByTestId('dp-sgd-epsilon-value')).toHaveText(spent.toFixed(3));
  await expect(c.getByTestId('dp-sgd-local-epsilon')).toHaveAttribute('data-epoch', '');
  await expect(c.getByTestId('dp-sgd-local-epsilon')).not.toContainText('(round');
  const cReadings = await readings(c);
  expectGrowing('hospital-c', cReadings, 2);
  expect(cReadings[cReadings.length - 1]!.epsilon).toBe(spent);
  // The server no longer counts c: it is offline, and round 3 completes with a and b, promptly (deadline: 600 s).
  await expect(state('hospital-c')).toHaveAttribute('data-state', 'offline');
  await expect(roundRow(3)).toBeVisible({ timeout: 5 * 60_000 });
  console.log(`round 3 aggregated ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after hospital-c's watchdog stopped it`);

  for (const page of [a, b]) await expect(page.getByTestId('phase')).toHaveText('Federation finished', { timeout: 10 * 60_000 });
  await expect(admin.getByTestId('phase')).toHaveText('done');
  await expect(admin.getByTestId('round-row')).toHaveCount(ROUNDS);
  for (let r = 1; r <= ROUNDS; r++) {
    const participants = roundRow(r).getByTestId('round-participants');
    await expect(participants).toHaveText(r <= 2 ? '3' : '2');
    if (r > 2) expect(await participants.getAttribute('title')).not.toContain('hospital-c');
  }
  // c's page still says it stopped; a and b showed their local ε after every epoch of all rounds.
  await expect(c.getByTestId('phase')).toHaveText('Stopped: this hospital’s privacy budget is spent');
  const last: Record<string, number> = { 'hospital-c': spent };
  for (const [name, page] of [['hospital-a', a], ['hospital-b', b]] as const) {
    await expect(page.getByTestId('dp-sgd-local-epsilon')).toContainText(`(round ${ROUNDS}, epoch ${EPOCHS} of ${EPOCHS})`);
    const r = await readings(page);
    expectGrowing(name, r, ROUNDS);
    last[name] = r[r.length - 1]!.epsilon;
  }
  // The smaller the hospital, the faster it spends: after round 2, c > b > a.
  const afterRound2 = async (page: Page) => (await readings(page)).find((x) => x.round === 2 && x.epoch === EPOCHS)!.epsilon;
  const [ea, eb] = [await afterRound2(a), await afterRound2(b)];
  expect(spent).toBeGreaterThan(eb);
  expect(eb).toBeGreaterThan(ea);

  // The admin lists each hospital's own ε per record as it last reported it: what its page showed.
  const panel = admin.getByTestId('dp-sgd-panel');
  await expect(panel.getByTestId('dp-sgd-row')).toHaveCount(3);
  for (const h of HOSPITALS) {
    await expect(panel.getByTestId('dp-sgd-row').filter({ hasText: h }).getByTestId('dp-sgd-epsilon')).toHaveText(last[h]!.toFixed(3));
  }
});
