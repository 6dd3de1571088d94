import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { summarizeCurves, type CurvePoint } from '../src/simulate/personalization';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('personalization simulator (retrogress)', () => {
  it('runs FedAvg, FedBN and PRR-FL from the command line and reports a point per local epoch and per communication', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fedward-retrogress-'));
    try {
      const rounds = 2;
      const localEpochs = 2;
      const { stdout } = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          'server/src/simulate/personalization-cli.ts',
          ...['--strategies', 'fedavg,fedbn,prr-fl', '--hospitals', '2', '--rounds', String(rounds), '--local-epochs', String(localEpochs), '--seed', '1'],
          ...['--size', '8', '--slices-per-hospital', '20', '--batch-size', '8', '--width', '2', '--out', out, '--json'],
        ],
        { cwd: root, env: { ...process.env, FEDWARD_QUIET: '1' }, maxBuffer: 16 << 20 },
      );
      const last = stdout.trim().split('\n').at(-1)!;
      const json = JSON.parse(last) as { strategies: Record<string, CurvePoint[]> };
      expect(Object.keys(json.strategies)).toEqual(['fedavg', 'fedbn', 'prr-fl']);
      for (const points of Object.values(json.strategies)) {
        // Per round: one point per local epoch, then one right after communication.
        expect(points).toHaveLength(rounds * (localEpochs + 1));
        for (const p of points) {
          expect(Object.keys(p).sort()).toEqual(['after_communication', 'epoch', 'macro_f1', 'metric', 'round']);
          expect(p.metric).toBeGreaterThanOrEqual(0);
          expect(p.metric).toBeLessThanOrEqual(1);
          expect(p.macro_f1).toBeGreaterThanOrEqual(0);
          expect(p.macro_f1).toBeLessThanOrEqual(1);
        }
        for (let round = 0; round < rounds; round++) {
          const inRound = points.filter((p) => p.round === round);
          expect(inRound.map((p) => [p.epoch, p.after_communication])).toEqual([
            [1, false],
            [2, false],
            [2, true],
          ]);
        }
      }
      // PRR-FL's server result only replaces the deputy: the personalized model, which is evaluated, is unchanged.
      const prr = json.strategies['prr-fl']!;
      prr.forEach((p, i) => {
        if (p.after_communication) expect(p.metric).toBe(prr[i - 1]!.metric);
      });
      const files = readdirSync(out).sort();
      expect(files).toEqual(['retrogress-h2-r2-e2-seed1-accuracy.svg', 'retrogress-h2-r2-e2-seed1-f1.svg', 'retrogress-h2-r2-e2-seed1.md']);
      const md = readFileSync(join(out, 'retrogress-h2-r2-e2-seed1.md'), 'utf8');
      for (const s of ['fedavg', 'fedbn', 'prr-fl']) expect(md).toContain(`| ${s} |`);
      expect(readFileSync(join(out, 'retrogress-h2-r2-e2-seed1-accuracy.svg'), 'utf8')).toContain('<polyline');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('summarizes a curve: final values and the mean drop right after communication', () => {
    const p = (round: number, epoch: number, metric: number, after = false): CurvePoint => ({ round, epoch, metric, macro_f1: metric / 2, after_communication: after });
    const s = summarizeCurves([p(0, 1, 0.6), p(0, 2, 0.8), p(0, 2, 0.5, true), p(1, 1, 0.7), p(1, 2, 0.9), p(1, 2, 0.8, true)]);
    expect(s.finalAccuracy).toBe(0.8);
    expect(s.finalF1).toBe(0.4);
    expect(s.lastLocalAccuracy).toBe(0.9);
    expect(s.lastLocalF1).toBe(0.45);
    expect(s.meanDropAccuracy).toBeCloseTo(0.2, 12);
    expect(s.meanDropF1).toBeCloseTo(0.1, 12);
    expect(s.worstDropAccuracy).toBeCloseTo(0.3, 12);
  });
});
