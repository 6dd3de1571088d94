import { beforeAll, describe, expect, it } from 'vitest';
import { SECAGG_STAGES } from '@fedward/protocol';
import { simulateFederation } from '../src/simulate/run-federation';
import { nodeTrainingBackend } from '@fedward/wasm-training/node';

beforeAll(async () => {
  await nodeTrainingBackend();
});

// 10 hospitals, threshold 6: the acceptance's federation, with tiny data so 13 federations stay quick.
const base = { hospitals: 10, rounds: 1, clip: 1, seed: 5, size: 16, slicesPerHospital: 20, batchSize: 10, learningRate: 0.01, delta: 1e-5, z: 1, vn: 1 as const };

describe('simulate --secagg: 10 hospitals, t = 6, dropouts at every protocol stage', () => {
  it('completes with 0, 2 and 4 dropouts at each stage; with 5 the attempt fails, naming the stage, and the round is redone', async () => {
    const plain = await simulateFederation({ ...base, secagg: { threshold: 6, drop: 0, dropStage: 'mask' } });
    expect(plain[0]!.secagg).toEqual({ participants: 10, threshold: 6, dropped: 0, completed: true, failed: [] });
    expect(plain[0]!.updates).toBe(10);
    for (const stage of SECAGG_STAGES) {
      for (const drop of [2, 4]) {
        const [row] = await simulateFederation({ ...base, secagg: { threshold: 6, drop, dropStage: stage } });
        expect(row!.secagg, `${drop} dropped at ${stage}`).toMatchObject({ participants: 10, dropped: drop, completed: true, failed: [] });
        // Who dropped before uploading is not in the sum; who uploaded and then left is.
        expect(row!.updates, `${drop} dropped at ${stage}`).toBe(stage === 'reveal' ? 10 : 10 - drop);
      }
      const [row] = await simulateFederation({ ...base, secagg: { threshold: 6, drop: 5, dropStage: stage } });
      expect(row!.secagg!.failed, `5 dropped at ${stage}`).toHaveLength(1);
      expect(row!.secagg!.failed[0]!.reason).toMatch(/^secure aggregation failed at (stage "advertise"|sharing|masking|unmasking): .*5 of 10 participants.*the threshold is 6/);
      // Redone with everyone: the round completes and releases all ten updates.
      expect(row!.secagg).toMatchObject({ dropped: 0, completed: true });
      expect(row!.updates).toBe(10);
    }
  }, 300_000);
});
