import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runGrid } from '../src/simulate/grid';
import { simulateFederation } from '../src/simulate/run-federation';
import { nodeTrainingBackend } from '../src/simulate/wasm-node';

beforeAll(async () => {
  await nodeTrainingBackend();
});

const small = { hospitals: 2, rounds: 3, clip: 1, seed: 3, size: 16, slicesPerHospital: 40, batchSize: 8, learningRate: 0.01, delta: 1e-5 };

describe('federation simulator', () => {
  it('with adaptive VN: discards the probe, re-chooses VN, and accounts both privacy units', async () => {
    const rows = await simulateFederation({ ...small, z: 1, vn: 'adaptive' });
    expect(rows.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(rows[0]!.probe).toBe(true);
    expect(rows[0]!.vn).toBe(1);
    for (const r of rows) {
      expect(r.updates).toBeLessThanOrEqual(small.hospitals * r.vn);
      expect(r.sigma).toBeCloseTo((1 * small.clip) / r.updates, 12);
      // A hospital is VN sub-clients: its ε can only be larger.
      expect(r.epsilon_hospital!).toBeGreaterThanOrEqual(r.epsilon_subclient! - 1e-9);
    }
    expect(rows[1]!.epsilon_subclient!).toBeGreaterThan(rows[0]!.epsilon_subclient!);
    expect(new Set(rows.map((r) => r.vn)).size).toBeGreaterThan(1);
  }, 120_000);

  it('without DP it is plain FedAvg: no clip, no noise, no ε, and it learns', async () => {
    const rows = await simulateFederation({ ...small, hospitals: 3, size: 32, slicesPerHospital: 120, rounds: 5, z: 0, vn: 1 });
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
          // FedNova's noise carries τ_eff (the mean local step count): σ = z·C·τ_eff/M.
          if (z > 0) expect(r.sigma).toBeCloseTo((z * tiny.clip * (strategy === 'fednova' ? r.steps : 1)) / r.updates, 10);
          else expect(r.sigma).toBeNull();
        }
      }
    }
  }, 60_000);

  it('on a VN change, new sub-clients start from the merged optimizer state of the old ones', async () => {
    const splits: { afterRound: number; vn: number; mergedSteps: (number | null)[] }[] = [];
    const rows = await simulateFederation({ ...tiny, rounds: 3, z: 1, vn: 'adaptive', clipRule: 'median', onSplit: (e) => splits.push(e) });
    expect(splits[0]).toEqual({ afterRound: -1, vn: 1, mergedSteps: [null, null] });
    expect(splits.length).toBeGreaterThan(1);
    // The first re-split follows the probe round: every hospital's sub-client had taken its steps.
    const first = splits[1]!;
    expect(first.afterRound).toBe(0);
    for (const step of first.mergedSteps) expect(step).toBeGreaterThan(0);
    expect(first.mergedSteps.reduce((a, b) => a! + b!, 0)! / first.mergedSteps.length).toBeCloseTo(rows[0]!.steps, 10);
  }, 60_000);

  it('the quantile clip moves C between rounds and the median clip follows the norms', async () => {
    // VN = 4 (M = 4·hospitals updates) keeps the noise on the released fraction b̃ (std σ_b/M) well
    // below the 0.5 that would make C shrink instead.
    const q = await simulateFederation({ ...tiny, rounds: 3, z: 1, vn: 4, clipRule: 'quantile', clip: 0.05 });
    expect(q[0]!.clip).toBe(0.05);
    // Every update is far above 0.05: b̃ ≈ 0, so C grows by about e^{0.1} each round.
    expect(q[2]!.clip!).toBeGreaterThan(q[0]!.clip!);
    const m = await simulateFederation({ ...tiny, z: 1, vn: 1, clipRule: 'median' });
    expect(m[0]!.clip).not.toBe(m[1]!.clip);
  }, 60_000);

  it('--grid writes a summary table with the paired comparison, and the plots', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fedward-grid-'));
    try {
      const runs = await runGrid({ base: { ...tiny, rounds: 2, clipRule: 'median' }, zs: [0, 1], strategies: ['fedavg', 'fednova'], seeds: [0, 1], out, resume: false, command: 'test', backend: 'wasm', log: () => {} });
      expect(runs).toHaveLength(2 * (1 + 2) * 2);
      const summary = readFileSync(join(out, 'summary.md'), 'utf8');
      expect(summary).toMatch(/\| no DP \| fedavg \| baseline/);
      expect(summary).toMatch(/\| 1 \| fednova \| \+ adaptive/);
      expect(summary).toMatch(/Adaptive intermediary minus baseline/);
      expect(readFileSync(join(out, 'grid-fednova.svg'), 'utf8')).toMatch(/^<svg/);
      expect(readFileSync(join(out, 'runs.jsonl'), 'utf8').trim().split('\n')).toHaveLength(runs.length);
      // Resuming re-runs nothing.
      const again = await runGrid({ base: { ...tiny, rounds: 2, clipRule: 'median' }, zs: [0, 1], strategies: ['fedavg', 'fednova'], seeds: [0, 1], out, resume: true, command: 'test', backend: 'wasm', log: () => {} });
      expect(again.map((r) => r.seconds)).toEqual(runs.map((r) => r.seconds));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
