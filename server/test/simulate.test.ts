import { beforeAll, describe, expect, it } from 'vitest';
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
});
