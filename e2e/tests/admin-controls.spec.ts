import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type WebSocketRoute } from '@playwright/test';
import { io } from 'socket.io-client';
import { startServer, tempDir, type ServerProcess } from './fedward-server';
import { closePages, newPage, signInAdmin, submitAdminPassword } from './pages';

/*
 * The admin's controls against a real server, without hospitals: session sign-in (the password
 * is sent once; only the session is kept), the connection indicator through a dropped and
 * restored socket, an enrolment token and its audit entries with the verified hash chain, the
 * CSV export, a password change that signs every session out, and the login rate limit.
 */
let password = 'e2e-admin-controls-password';
const NEW_PASSWORD = 'e2e-admin-controls-password-2';
const HOSPITAL = 'St Elsewhere';
const FAKE_HOSPITAL = 'Riverside';

let server: ServerProcess;
const workDirs: string[] = [];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const dbDir = tempDir('fedward-e2e-admin-controls-db-');
  workDirs.push(dbDir);
  server = await startServer(['--db', join(dbDir, 'fedward.sqlite'), '--rounds', '1', '--min-clients', '1', '--input-size', '32'], {
    FEDWARD_ADMIN_PASSWORD: password,
  });
});

test.afterAll(async () => {
  await closePages();
  await server?.stop();
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

test('a wrong password is refused; the right one gives a live session that survives a reload', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto(server.url + '/admin/');
  expect(await submitAdminPassword(page, 'not-the-password')).toBe(401);
  await expect(page.getByRole('alert')).toContainText('wrong admin password');

  expect(await submitAdminPassword(page, password)).toBe(200);
  await expect(page.getByRole('heading', { name: /Demo federation/ })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Live' })).toBeVisible();

  // The tab keeps the session, never the password.
  const stored = await page.evaluate(() => JSON.stringify(Object.entries(sessionStorage)));
  expect(stored).toContain('fedward.admin-session');
  expect(stored).not.toContain(password);

  await page.reload();
  await expect(page.getByTestId('connection')).toHaveText('Live');
  await expect(page.getByLabel('Admin password')).toHaveCount(0);
});

test('a dropped connection shows Reconnecting and marks the data stale until the resync', async ({ browser }) => {
  const page = await newPage(browser);
  let blocked = false;
  const open: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (blocked) return ws.close();
    ws.connectToServer();
    open.push(ws);
  });
  await page.goto(server.url + '/admin/');
  await signInAdmin(page, password);
  await expect(page.getByTestId('stale-notice')).toHaveCount(0);

  blocked = true;
  for (const ws of open.splice(0)) await ws.close();
  await expect(page.getByTestId('connection')).toContainText(/Reconnecting… since \d\d:\d\d:\d\d|Offline since/);
  await expect(page.getByTestId('stale-notice')).toContainText(/last update at \d\d:\d\d:\d\d/);
  await expect(page.getByTestId('dashboard-data')).toHaveAttribute('data-stale', 'true');
  await expect(page.getByRole('button', { name: 'Load audit log' })).toBeDisabled();

  blocked = false;
  await expect(page.getByTestId('connection')).toHaveText('Live');
  await expect(page.getByTestId('stale-notice')).toHaveCount(0);
  await expect(page.getByTestId('dashboard-data')).toHaveAttribute('data-stale', 'false');
});

test('a new token appears in the audit log with the login, the chain verifies, and the CSV exports', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto(server.url + '/admin/');
  await signInAdmin(page, password);

  await page.getByLabel('Hospital name').fill(HOSPITAL);
  await page.getByRole('button', { name: 'Create enrolment token' }).click();
  await expect(page.getByTestId('new-token')).toContainText(HOSPITAL);

  // The panel reloads after every admin action; the button loads it on demand too.
  const panel = page.getByTestId('audit-panel');
  await panel.getByRole('button', { name: /(Load|Refresh) audit log/ }).click();
  await expect(panel.getByTestId('audit-verified')).toContainText(/Chain verified: \d+ entries/);
  await expect(panel.getByTestId('audit-tampered')).toHaveCount(0);
  await expect(panel.locator('[data-testid="audit-row"][data-action="login"]').first()).toBeVisible();
  await expect(panel.locator('[data-testid="audit-row"][data-action="login-failed"]').first()).toBeVisible();
  await expect(panel.locator('[data-testid="audit-row"][data-action="token-created"]')).toContainText(HOSPITAL);

  const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Export CSV' }).click()]);
  expect(download.suggestedFilename()).toMatch(/\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8');
  expect(csv.split('\n')[0]).toContain('action');
  expect(csv).toContain('token-created');
  expect(csv).toContain(HOSPITAL);
});

test('the admin sees a hospital’s state, moves the deadline, ends the round, skips the hospital and lets it back in', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto(server.url + '/admin/');
  await signInAdmin(page, password);
  await page.getByLabel('Hospital name').fill(FAKE_HOSPITAL);
  await page.getByRole('button', { name: 'Create enrolment token' }).click();
  const token = (await page.getByTestId('new-token-value').textContent())!.trim();

  // A hospital that says hello and never trains: enough for a round to start (--min-clients 1).
  const hospital = io(server.url, { auth: { token }, transports: ['websocket'] });
  try {
    const welcome = (await hospital.timeout(30_000).emitWithAck('hello', { backend: 'cpu', trainSamples: 10, testSamples: 2 })) as { ok: boolean };
    expect(welcome.ok).toBe(true);

    const row = page.getByTestId('hospital-row').filter({ hasText: FAKE_HOSPITAL });
    await expect(page.getByTestId('phase')).toHaveText('training');
    await expect(row.getByTestId('hospital-state')).toContainText('training');
    await expect(row.getByTestId('hospital-last-seen')).toHaveText(/^\d+ s ago$/);

    const controls = page.getByTestId('round-controls');
    await controls.getByLabel('New deadline, in minutes from now').fill('10');
    await controls.getByRole('button', { name: 'Set deadline' }).click();
    await expect(page.getByTestId('round-feedback')).toContainText(/Round 1 now ends at \d\d:\d\d:\d\d/);

    await controls.getByRole('button', { name: 'End round now' }).click();
    const confirm = page.getByRole('group', { name: 'End round 1 now?' });
    await expect(confirm).toContainText('cancelled and run again');
    await expect(confirm.getByRole('button', { name: 'Keep training' })).toBeFocused();
    await confirm.getByRole('button', { name: 'Yes, end round 1' }).click();
    await expect(page.getByTestId('round-feedback')).toContainText('Round 1 was cancelled');

    // It missed the round the admin ended, so it backs off; letting it back in ends that.
    await expect(row.getByTestId('hospital-state')).toContainText(/backing off until \d\d:\d\d/);
    await expect(row.getByTestId('hospital-state')).toContainText('did not finish its upload');
    await row.getByRole('button', { name: `Let back in ${FAKE_HOSPITAL}` }).click();
    await expect(row.getByTestId('hospital-state')).toContainText(/ready|training/);

    await row.getByRole('button', { name: `Skip ${FAKE_HOSPITAL}` }).click();
    await expect(row.getByTestId('hospital-state')).toContainText('skipped by admin');
    await expect(page.getByTestId('skip-feedback')).toContainText(`${FAKE_HOSPITAL} is left out of rounds`);
    await row.getByRole('button', { name: `Let back in ${FAKE_HOSPITAL}` }).click();
    await expect(row.getByTestId('hospital-state')).not.toContainText('skipped by admin');
    await expect(page.getByTestId('skip-feedback')).toContainText(`${FAKE_HOSPITAL} may join rounds again`);

    // Every action above reloaded the audit panel.
    const panel = page.getByTestId('audit-panel');
    for (const action of ['deadline-set', 'round-ended', 'hospital-skipped', 'hospital-readmitted']) {
      await expect(panel.locator(`[data-testid="audit-row"][data-action="${action}"]`).first()).toBeVisible();
    }
    await expect(panel.getByTestId('audit-verified')).toBeVisible();
  } finally {
    hospital.close();
  }
});

test('changing the password signs every session out; the new password signs in', async ({ browser }) => {
  const other = await newPage(browser);
  await other.goto(server.url + '/admin/');
  await signInAdmin(other, password);

  const page = await newPage(browser);
  await page.goto(server.url + '/admin/');
  await signInAdmin(page, password);
  const form = page.getByTestId('change-password');
  await form.getByLabel('Current password').fill(password);
  await form.getByLabel('New password', { exact: true }).fill('too-short');
  await form.getByLabel('Confirm new password').fill('too-short');
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(form.getByRole('alert')).toContainText('at least 12 characters');

  await form.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await form.getByLabel('Confirm new password').fill(NEW_PASSWORD);
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('alert')).toContainText('Password changed');
  await expect(other.getByRole('alert')).toContainText('Signed out: the admin password was changed');
  password = NEW_PASSWORD;

  await signInAdmin(page, password);
});

test('repeated wrong passwords are rate-limited with the wait in seconds', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto(server.url + '/admin/');
  let status = 0;
  for (let i = 0; i < 10 && status !== 429; i++) status = await submitAdminPassword(page, `wrong-${i}`);
  expect(status).toBe(429);
  await expect(page.getByRole('alert')).toContainText(/too many attempts; try again in \d+ s/);
});
