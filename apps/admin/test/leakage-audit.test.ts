import { describe, expect, it } from 'vitest';
import { createModel, exportLayersModel } from '@fedward/models';
import { federationConfigSchema, type FederationConfig, type ModelSpec } from '@fedward/protocol';
import { weightsFromLayersFiles } from '../src/api/global-model';
import { auditDefaults, auditSpec, auditSummary, auditUnsupported, formatPsnr, grayscaleRgba, parseCount } from '../src/routes/audit/audit-report';
import type { DefenceResult } from '../src/types/leakage-audit';

const spec: ModelSpec = { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 7 };

const config = (extra: Partial<FederationConfig> = {}): FederationConfig =>
  federationConfigSchema.parse({
    id: 'demo',
    name: 'Demo',
    rounds: 3,
    minClients: 1,
    roundDeadlineMs: 60_000,
    maxUpdateBytes: 1 << 20,
    chunkBytes: 1 << 16,
    model: spec,
    training: { epochs: 2, batchSize: 16, learningRate: 0.05 },
    ...extra,
  });

describe('the global model from the take-home files', () => {
  it('reads back the weights exportLayersModel wrote, by name and in order', async () => {
    const engine = createModel(spec);
    const weights = engine.getWeights();
    engine.dispose();
    const { modelJson, weightsBin } = await exportLayersModel(spec, weights, { round: 3 });
    const bytes = weightsBin.buffer.slice(weightsBin.byteOffset, weightsBin.byteOffset + weightsBin.byteLength) as ArrayBuffer;
    const read = weightsFromLayersFiles(modelJson, bytes);
    expect(read.map((w) => w.name)).toEqual(weights.map((w) => w.name));
    read.forEach((w, i) => {
      expect(w.shape).toEqual(weights[i]!.shape);
      expect(Array.from(w.values)).toEqual(Array.from(weights[i]!.values));
    });
  });

  it('refuses a weights.bin that does not fit model.json', async () => {
    const engine = createModel(spec);
    const { modelJson } = await exportLayersModel(spec, engine.getWeights(), { round: 0 });
    engine.dispose();
    expect(() => weightsFromLayersFiles(modelJson, new ArrayBuffer(12))).toThrow(/weights.bin has 12 bytes/);
  });
});

describe('the audit’s settings from the study’s public settings', () => {
  it('takes the learning rate, local epochs, z, C and δ of the study, and every defence offered', () => {
    const s = auditDefaults(config({ privacy: { noiseMultiplier: 2, clipNorm: 0.5, targetEpsilon: 10, delta: 1e-6, unit: 'patient', accountant: 'rdp' } }), ['none', 'dp']);
    expect(s).toMatchObject({ learningRate: 0.05, localSteps: 2, defences: ['none', 'dp'], dp: { noiseMultiplier: 2, clip: 0.5, delta: 1e-6 } });
    // No DP-SGD in the study: the product's defaults.
    expect(s.dpSgd).toEqual({ noiseMultiplier: 1, clip: 1, delta: 1e-5 });
  });

  it('simulates the small CNN with z-score scaling only, absent scaling meaning z-score', () => {
    expect(auditUnsupported(config())).toBeNull();
    expect(auditSpec(config()).normalization).toBe('zscore');
    expect(auditUnsupported(config({ model: { ...spec, normalization: 'unit' } }))).toMatch(/z-score/);
    expect(auditUnsupported(config({ model: { ...spec, kind: 'unet' } }))).toMatch(/small CNN only/);
  });

  it('accepts whole numbers in range only', () => {
    expect(parseCount(' 20 ', 1, 2000)).toBe(20);
    for (const bad of ['', '0', '2.5', '-1', '1e3', '2001', 'ten']) expect(parseCount(bad, 1, 2000)).toBeNull();
  });
});

describe('the results', () => {
  const result: DefenceResult = {
    defence: 'dp',
    size: 2,
    labels: [1, 0],
    originals: new Float32Array(8),
    reconstructions: new Float32Array(8),
    psnr: [12.3456, Number.POSITIVE_INFINITY],
    ssim: [0.123456, 1],
    epsilon: 3.14159,
    note: '',
    model: 'small-cnn',
    vb: null,
  };

  it('download as the CLI’s --json summary', () => {
    const json = JSON.parse(JSON.stringify(auditSummary(result, { restarts: 2, localSteps: 4, iterations: 20, hospitals: 3 }))) as unknown;
    expect(json).toEqual({ defence: 'dp', images: 2, psnr_db: [12.35, null], ssim: [0.1235, 1], restarts: 2, model: 'small-cnn', input_size: 2, local_steps: 4, iterations: 20, epsilon: 3.142 });
    const secagg = auditSummary({ ...result, defence: 'secagg', epsilon: null }, { restarts: 1, localSteps: 1, iterations: 1, hospitals: 3 });
    expect(secagg).toMatchObject({ hospitals: 3 });
    expect(secagg).not.toHaveProperty('epsilon');
    // PRECODE trains small-cnn-vb: the CLI's --defence precode fields.
    const precode = auditSummary({ ...result, defence: 'precode', epsilon: null, model: 'small-cnn-vb', vb: { beta: 0.001, k: 16, attackerNoise: 'mean' } }, { restarts: 1, localSteps: 1, iterations: 1, hospitals: 3 });
    expect(precode).toMatchObject({ model: 'small-cnn-vb', vb_beta: 0.001, vb_k: 16, attacker_noise: 'mean' });
    expect(precode).not.toHaveProperty('epsilon');
    expect(formatPsnr(Number.POSITIVE_INFINITY)).toBe('∞');
    expect(formatPsnr(12.3456)).toBe('12.35');
  });

  it('paint gray values as opaque RGBA, clamped to [0, 1]', () => {
    expect(Array.from(grayscaleRgba([0, 0.5, 1.2, -1]))).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 0, 0, 0, 255]);
  });
});
