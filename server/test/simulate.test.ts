import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { runGrid } from '../src/simulate/grid';
import { holm, pairedT, studentTwoSidedP } from '../src/simulate/stats';
import { simulateFederation } from '../src/simulate/run-federation';
import { nodeTrainingBackend } from '@fedward/wasm-training/node';

beforeAll(async () => {
  await nodeTrainingBackend();
});

const run = promisify(execFile);

const small = { hospitals: 2, rounds: 3, clip: 1, seed: 3, size: 16, slicesPerHospital: 40, batchSize: 8, learningRate: 0.01, delta: 1e-5 };

describe('federation simulator (the server’s round engine)', () => {
  it('with adaptive VN: the probe releases only a noised norm sum, VN is re-chosen, every hospital sends VN updates, both relations are accounted', async () => {
    const rows = await simulateFederation({ ...small, z: 1, vn: 'adaptive' });
    expect(rows.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(rows[0]).toMatchObject({ probe: true, vn: 1, sigma: 0 });
    for (const r of rows) {
      expect(r.updates).toBe(small.hospitals * r.vn);
      if (!r.probe) expect(r.sigma! / ((1 * small.clip) / r.updates) - 1).toBeLessThan(1e-3);
      // A hospital touches VN updates, a patient one: the hospital's ε can only be larger.
      expect(r.epsilon_hospital!).toBeGreaterThanOrEqual(r.epsilon_patient! - 1e-9);
    }
    expect(rows[1]!.epsilon_patient!).toBeGreaterThan(rows[0]!.epsilon_patient!);
  }, 120_000);

  it('without DP it is plain FedAvg: no clip, no noise, no ε, and it learns', async () => {
    // The easy task: this checks that the pipeline learns, which the hard demo task takes many rounds to show.
    const rows = await simulateFederation({ ...small, hospitals: 3, size: 32, slicesPerHospital: 120, rounds: 5, z: 0, vn: 1, difficulty: 'easy' });
    expect(rows.every((r) => r.sigma === null && r.epsilon_hospital === null && r.vn === 1)).toBe(true);
    expect(rows.at(-1)!.metric).toBeGreaterThan(0.7);
  }, 120_000);

  const tiny = { ...small, rounds: 2, size: 16, slicesPerHospital: 40, serverLearningRate: 0.01 };

  it('runs FedAvg, FedAdam and FedNova with and without DP', async () => {
    for (const strategy of ['fedavg', 'fedadam', 'fednova'] as const) {
      for (const z of [0, 1]) {
        const rows = await simulateFederation({ ...tiny, strategy, z, vn: 1 });
        expect(rows).toHaveLength(2);
        for (const r of rows) {
          expect(Number.isFinite(r.metric)).toBe(true);
          expect(r.steps).toBeGreaterThan(0);
          // FedNova's release carries the PUBLIC τ̄ = ⌈0.8·40/8⌉ = 4: σ = z·C·τ̄/M.
          if (z > 0) expect(r.sigma! / ((z * tiny.clip * (strategy === 'fednova' ? 4 : 1)) / r.updates) - 1).toBeLessThan(1e-3);
          else expect(r.sigma).toBeNull();
        }
      }
    }
  }, 60_000);

  it('the heuristic VN comes from public settings only, and every split keeps each patient in one sub-client', async () => {
    const splits: { afterRound: number; vn: number; slices: number[][] }[] = [];
    const rows = await simulateFederation({ ...tiny, z: 2, vn: 'heuristic', onSplit: (e) => splits.push(e) });
    // d = the 16-px small CNN's size; N = 2 hospitals.
    expect(splits).toHaveLength(1);
    expect(splits[0]!.afterRound).toBe(-1);
    expect(rows.every((r) => r.vn === splits[0]!.vn)).toBe(true);
    // Every group of every hospital is listed (empty ones too), and no slice is lost.
    for (const groups of splits[0]!.slices) {
      expect(groups).toHaveLength(splits[0]!.vn);
      expect(groups.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }
  }, 60_000);

  it('the quantile clip moves C between rounds through its noised count, and the median clip is marked not private', async () => {
    // 4 hospitals × VN = 2 gives M = 8 updates, none of them empty (an empty sub-client sends a zero
    // update, which fits under any C and would put the true count near M·γ, where C only follows
    // the noise). The count's noise (σ = 1) on the fraction is then 1/8, far from γ = 0.5.
    const q = await simulateFederation({ ...tiny, hospitals: 4, rounds: 3, z: 1, vn: 2, clipRule: 'quantile', clip: 0.05, countNoise: 1 });
    expect(q[0]!.clip).toBe(0.05);
    // Every update is far above 0.05: b̃ ≈ 0, so C grows by about e^{0.1} each round.
    expect(q[2]!.clip!).toBeGreaterThan(q[0]!.clip!);
    const m = await simulateFederation({ ...tiny, z: 1, vn: 1, clipRule: 'median' });
    expect(m[0]!.clip).not.toBe(m[1]!.clip);
    expect(m.every((r) => r.epsilon_patient === null && r.epsilon_hospital === null)).toBe(true);
  }, 60_000);

  it('--grid compares the arms at equal ε per patient and per hospital, with Holm-corrected paired tests', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fedward-grid-'));
    try {
      const options = { base: { ...tiny, rounds: 2 }, budgets: [50], strategies: ['fedavg' as const], seeds: [0, 1], out, resume: false, command: 'test', backend: 'wasm', log: () => {} };
      const runs = await runGrid(options, 10_000);
      expect(runs).toHaveLength((1 + 3) * 2);
      const [patientArm, hospitalArm] = ['equal-patient', 'equal-hospital'].map((arm) => runs.find((r) => r.arm === arm)!);
      const baseline = runs.find((r) => r.arm === 'baseline')!;
      // Equal budgets where each arm claims them (the grid's ε column is the ledger's).
      // (up to the integer variance, which rounds σ up by < 1e-4 relative)
      expect(Math.abs(patientArm!.rows.at(-1)!.epsilon_patient! / baseline.rows.at(-1)!.epsilon_patient! - 1)).toBeLessThan(1e-3);
      expect(Math.abs(hospitalArm!.rows.at(-1)!.epsilon_hospital! / baseline.rows.at(-1)!.epsilon_hospital! - 1)).toBeLessThan(1e-3);
      expect(baseline.rows.at(-1)!.epsilon_hospital!).toBeLessThanOrEqual(50);
      const summary = readFileSync(join(out, 'summary.md'), 'utf8');
      expect(summary).toMatch(/\| 50 \| fedavg \| sub-clients, equal ε per hospital/);
      expect(summary).toMatch(/Holm-corrected/);
      expect(readFileSync(join(out, 'grid-fedavg.svg'), 'utf8')).toMatch(/^<svg/);
      // Resuming re-runs nothing.
      const again = await runGrid({ ...options, resume: true }, 10_000);
      expect(again.map((r) => r.seconds)).toEqual(runs.map((r) => r.seconds));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('grid statistics', () => {
  it('gives Student-t p-values and Holm adjustments that match published tables', () => {
    // t = 2.776 with 4 df and t = 4.303 with 2 df are the two-sided 5% critical values.
    expect(studentTwoSidedP(2.776445, 4)).toBeCloseTo(0.05, 5);
    expect(studentTwoSidedP(4.302653, 2)).toBeCloseTo(0.05, 5);
    expect(studentTwoSidedP(0, 7)).toBeCloseTo(1, 12);
    expect(pairedT([1, 1, 1]).p).toBe(0);
    expect(pairedT([0, 0, 0]).p).toBe(1);
    holm([0.01, 0.04, 0.03, 0.2]).forEach((q, i) => expect(q).toBeCloseTo([0.04, 0.09, 0.09, 0.2][i]!, 12));
  });
});

describe('simulate --dp-sgd', () => {
  it('trains every hospital with DP-SGD on patient records and reports the largest ε per patient, growing each round', async () => {
    const rows = await simulateFederation({ ...small, hospitals: 2, rounds: 2, z: 0, vn: 1, dpSgd: { noiseMultiplier: 1, clip: 1 } });
    const eps = rows.map((r) => r.dpSgdEpsilon!);
    expect(eps[0]).toBeGreaterThan(0);
    expect(eps[1]).toBeGreaterThan(eps[0]!);
    // Without DP-SGD there is no such figure.
    expect((await simulateFederation({ ...small, hospitals: 2, rounds: 1, z: 0, vn: 1 }))[0]!.dpSgdEpsilon).toBeUndefined();
  }, 120_000);

  it('from the command line, --dp-sgd-sampling uniform prints a finite dp_sgd_epsilon (deepee’s GDP CLT) other than the Poisson RDP one for the same settings', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fedward-simulate-dp-sgd-'));
    const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
    const simulate = async (...flags: string[]) => {
      const args = ['--hospitals', '2', '--rounds', '1', '--z', '0', '--vn', '1', '--seed', '3', '--size', '16', '--slices-per-hospital', '40', '--batch-size', '8'];
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'server/src/simulate/cli.ts', ...args, '--dp-sgd-noise', '1', ...flags, '--json', '--out', out], {
        cwd: root,
        env: { ...process.env, FEDWARD_QUIET: '1' },
        maxBuffer: 16 << 20,
      });
      return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { rounds: { dp_sgd_epsilon?: number }[] }).rounds[0]!.dp_sgd_epsilon!;
    };
    try {
      const poisson = await simulate('--dp-sgd-sampling', 'poisson');
      const uniform = await simulate('--dp-sgd-sampling', 'uniform');
      const mean = await simulate('--dp-sgd-sampling', 'uniform', '--dp-sgd-reduction', 'mean');
      for (const e of [poisson, uniform, mean]) {
        expect(Number.isFinite(e)).toBe(true);
        expect(e).toBeGreaterThan(0);
      }
      expect(uniform).not.toBeCloseTo(poisson, 3);
      // The reduction changes the gradient's scale, not the accounting.
      expect(mean).toBe(uniform);
      await expect(simulate('--dp-sgd-sampling', 'shuffle')).rejects.toThrow(/--dp-sgd-sampling must be poisson or uniform/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
