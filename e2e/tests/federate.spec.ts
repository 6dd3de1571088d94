import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import type { Report } from '../../tools/federate/src/report';
import { reportProblems } from '../../tools/federate/test/report-shape';
import { runFederate } from '../../tools/federate/test/run-federate';
import { tempDir } from './fedward-server';

/*
 * `npm run federate -- --browser` end to end: the tool starts its own server and its own Chromium
 * (one context per hospital and one for the admin dashboard), so this spec uses no browser fixture.
 * Two hospitals, two short rounds, with the backend forced to show that --backend reaches the pages.
 */
test('npm run federate -- --browser: two hospital pages train two rounds; the report has every round and hospital', async () => {
  test.setTimeout(15 * 60_000);
  const out = tempDir('fedward-e2e-federate-');
  const run = await runFederate(['--browser', '--hospitals', '2', '--rounds', '2', '--epochs', '1', '--slices-per-hospital', '40', '--backend', 'cpu', '--out', out]);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  expect(run.stdout).toMatch(/round 2\/2: accuracy [\d.]+ %/);

  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
  expect(reportProblems(report, { mode: 'browser', hospitals: ['hospital-a', 'hospital-b'], rounds: 2 })).toEqual([]);
  // ?backend=cpu reached both pages, and both trained on it.
  for (const h of report.hospitals) {
    expect(h.backend).toBe('cpu');
    expect(h.pageBackend).toBe('cpu');
  }
  expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(report.headline);
  expect(existsSync(join(out, 'dashboard.png'))).toBe(true);
});
