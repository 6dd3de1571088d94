import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/report';
import { reportProblems } from './report-shape';
import { runFederate } from './run-federate';

/**
 * The command a researcher types, end to end: two Node hospitals, two rounds, small generated
 * data; the report must hold every round and every hospital.
 */
describe('npm run federate -- --node', () => {
  const out = mkdtempSync(join(tmpdir(), 'fedward-federate-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs two Node hospitals through two rounds and writes a complete report', async () => {
    const run = await runFederate(['--hospitals', '2', '--node', '--rounds', '2', '--slices-per-hospital', '80', '--epochs', '1', '--out', out]);
    expect(run.stderr).not.toMatch(/federate: /);
    expect(run.code).toBe(0);
    // Progress: one line per round as it is measured, then the headline.
    expect(run.stdout).toMatch(/round 1\/2: accuracy [\d.]+ %/);
    expect(run.stdout).toMatch(/round 2\/2: accuracy [\d.]+ %/);

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(reportProblems(report, { mode: 'node', hospitals: ['hospital-a', 'hospital-b'], rounds: 2 })).toEqual([]);
    expect(run.stdout).toContain(report.headline);
    // Node hospitals report each step themselves: every upload is timed.
    for (const h of report.hospitals) for (const t of h.rounds) expect(t.uploadMs).not.toBeNull();

    const markdown = readFileSync(join(out, 'report.md'), 'utf8');
    expect(markdown).toContain(report.headline);
    for (const h of report.hospitals) expect(markdown).toContain(`| ${h.name} | ${h.backend} |`);
    for (const chart of report.files.charts) expect(readFileSync(join(out, chart), 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*hospital-b[\s\S]*<\/svg>$/);
    expect(existsSync(join(out, 'server.log'))).toBe(true);
  });
});

describe('npm run federate -- bad options', () => {
  // One of each kind of refusal through the real command (the others are checked in options.test.ts).
  it.each([
    [['--bogus'], /^federate: unknown option --bogus$/],
    [['--node', '--rounds', 'x'], /^federate: --rounds expects a number, got 'x'$/],
    [['--node', '--data', '/nonexistent-federation'], /^federate: --data \/nonexistent-federation: no federation.json/],
  ])('%j is refused in one line with exit code 2', async (args, message) => {
    const run = await runFederate(args);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr.trim()).toMatch(message);
  });
});
