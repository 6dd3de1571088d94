import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { startDemoFederation, type DemoFederation } from './fedward-server';
import { closePages, newPage, openAdmin } from './pages';

/*
 * WCAG 2.1 AA on both apps, checked by axe-core on every page and state a user meets (no serious
 * or critical violation), the admin dashboard at a phone's 390 px without sideways scrolling, and
 * a clinician who uses only the keyboard: token, study plan, folder and Join, no mouse.
 */
const ADMIN_PASSWORD = 'e2e-admin-password';
let fed: DemoFederation;

test.beforeAll(async () => {
  fed = await startDemoFederation({
    name: 'a11y',
    hospitals: ['hospital-a'],
    slicesPerHospital: 40,
    seed: 31,
    serverArgs: ['--rounds', '1', '--min-clients', '1', '--epochs', '1', '--batch-size', '16'],
    adminPassword: ADMIN_PASSWORD,
  });
});

test.afterAll(async () => {
  await closePages();
  await fed?.server.stop();
});

/** axe-core's serious and critical findings on the page as it is now, one line each. */
async function violations(page: Page, state: string): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${state}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

test('both apps have no serious or critical axe violation, and the dashboard fits 390 px', async ({ browser }) => {
  test.setTimeout(6 * 60_000);
  const found: string[] = [];

  const login = await newPage(browser);
  await login.goto(fed.server.url + '/admin/');
  await expect(login.getByLabel('Admin password')).toBeVisible();
  found.push(...(await violations(login, 'admin sign-in')));

  const admin = await openAdmin(browser, fed.server.url, ADMIN_PASSWORD);
  await expect(admin.getByTestId('connection')).toHaveText('Live');
  found.push(...(await violations(admin, 'admin dashboard')));
  await admin.getByRole('button', { name: 'New study…' }).click();
  await admin.getByRole('form', { name: 'New study' }).getByLabel('Differential privacy').selectOption('on');
  found.push(...(await violations(admin, 'admin new-study form')));
  await admin.getByRole('button', { name: 'Cancel' }).click();

  await admin.setViewportSize({ width: 390, height: 844 });
  await expect(admin.getByTestId('connection')).toHaveText('Live');
  // Wide tables scroll inside their own box; the page itself must not scroll sideways.
  const wide = await admin.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 1 && !el.closest('.scroll-x'))
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} (${Math.round(el.getBoundingClientRect().right)} px)`)
      .slice(0, 8);
  });
  if (wide.length) found.push(`admin dashboard at 390 px scrolls sideways: ${wide.join(', ')}`);
  found.push(...(await violations(admin, 'admin dashboard at 390 px')));

  const hospital = await newPage(browser);
  await hospital.goto(fed.server.url + '/');
  found.push(...(await violations(hospital, 'hospital: no token yet')));
  await hospital.getByLabel('Enrolment token').fill(fed.tokens['hospital-a']!);
  await hospital.getByRole('button', { name: 'Check token' }).click();
  await expect(hospital.getByTestId('plan-digest')).toBeVisible();
  found.push(...(await violations(hospital, 'hospital: study plan')));
  await hospital.getByRole('button', { name: 'I have reviewed this plan and accept it' }).click();
  await hospital.getByTestId('folder-input').setInputFiles(join(fed.dataDir, 'hospital-a'));
  await expect(hospital.getByTestId('slice-count')).toHaveText('40', { timeout: 60_000 });
  found.push(...(await violations(hospital, 'hospital: slices imported')));
  await hospital.getByRole('button', { name: 'Join round' }).click();
  await expect(hospital.getByTestId('phase')).toHaveText('Federation finished', { timeout: 4 * 60_000 });
  found.push(...(await violations(hospital, 'hospital: study finished')));

  // The admin's Audit view (round 1 is released now): its form, and the results of a tiny attack.
  await admin.getByRole('link', { name: 'Audit' }).click();
  await expect(admin.getByRole('button', { name: 'Run attack' })).toBeEnabled();
  found.push(...(await violations(admin, 'admin audit form')));
  await admin.getByLabel('Attack iterations per restart').fill('2');
  await admin.getByRole('button', { name: 'Run attack' }).click();
  await expect(admin.getByTestId('leakage-status')).toHaveAttribute('data-status', 'done', { timeout: 4 * 60_000 });
  found.push(...(await violations(admin, 'admin audit results')));

  expect(found, found.join('\n')).toEqual([]);

  // Control: the same check does catch a serious violation (an image without a text alternative).
  await hospital.evaluate(() => document.querySelector('main')!.insertAdjacentHTML('beforeend', '<img src="data:," data-control="1">'));
  expect((await violations(hospital, 'control')).join('\n')).toMatch(/image-alt \(critical\)/);
});

test('a clinician imports a folder and joins a study with the keyboard alone', async ({ browser }) => {
  test.setTimeout(6 * 60_000);
  const page = await newPage(browser);
  await page.goto(fed.server.url + '/');
  /** Tabs forward until `target` has the focus (at most 40 presses), as a keyboard user would. */
  const tabTo = async (target: ReturnType<Page['getByRole']>) => {
    for (let i = 0; i < 40; i++) {
      if (await target.evaluate((el) => el === document.activeElement)) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`could not reach ${String(target)} with Tab`);
  };
  await tabTo(page.getByLabel('Enrolment token'));
  await page.keyboard.type(fed.tokens['hospital-a']!);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('hospital-name')).toHaveText('hospital-a');
  await tabTo(page.getByRole('button', { name: 'I have reviewed this plan and accept it' }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('plan-acceptance')).toHaveAttribute('data-accepted', 'true');
  // The folder picker: focused with Tab, opened with Space (the browser's file dialog).
  await tabTo(page.getByTestId('folder-input') as ReturnType<Page['getByRole']>);
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
  await chooser.setFiles(join(fed.dataDir, 'hospital-a'));
  await expect(page.getByTestId('slice-count')).toHaveText('40', { timeout: 60_000 });
  await tabTo(page.getByRole('button', { name: 'Join round' }));
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('phase')).not.toHaveText('Not joined');
});
