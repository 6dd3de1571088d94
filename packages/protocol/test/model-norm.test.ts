import { describe, expect, it } from 'vitest';
import { federationConfigSchema, studyPlan, studySettingsOf, studySettingsSchema, type FederationConfig } from '../src';

const base: FederationConfig = {
  id: 'demo',
  name: 'Demo',
  rounds: 2,
  minClients: 2,
  roundDeadlineMs: 60_000,
  maxUpdateBytes: 1 << 24,
  chunkBytes: 1 << 16,
  model: { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 1 },
  training: { epochs: 1, batchSize: 8, learningRate: 0.01 },
};
const dpSgd = { noiseMultiplier: 1, clip: 1, targetEpsilon: 8, delta: 1e-5, sampling: 'poisson' as const };
const withModel = (model: Partial<FederationConfig['model']>, extra: Partial<FederationConfig> = {}) => ({ ...base, ...extra, model: { ...base.model, ...model } });

describe('model.norm', () => {
  it("is optional ('batch' when absent) and only 'batch' or 'group'", () => {
    expect(federationConfigSchema.parse(base).model.norm).toBeUndefined();
    expect(federationConfigSchema.parse(withModel({ kind: 'vgg-slim', norm: 'group' })).model.norm).toBe('group');
    expect(federationConfigSchema.safeParse(withModel({ norm: 'layer' as never })).success).toBe(false);
  });

  it("lets DP-SGD run with small-cnn and with any family whose norm is 'group', and refuses the batch norms", () => {
    expect(federationConfigSchema.safeParse(withModel({}, { dpSgd })).success).toBe(true);
    for (const kind of ['vgg-slim', 'densenet', 'unet'] as const) {
      expect(federationConfigSchema.safeParse(withModel({ kind, norm: 'group' }, { dpSgd })).success, kind).toBe(true);
      for (const norm of ['batch', undefined] as const) {
        const r = federationConfigSchema.safeParse(withModel({ kind, ...(norm && { norm }) }, { dpSgd }));
        expect(r.success, `${kind} ${norm}`).toBe(false);
        const issue = r.error!.issues.find((i) => i.path.join('.') === 'model.norm');
        expect(issue?.message).toMatch(/^DP-SGD clips each record's own gradient.*set model\.norm 'group'/);
      }
    }
  });

  it('reaches the study plan and the admin settings only when GroupNorm is chosen (older plans keep their digest)', () => {
    const group = federationConfigSchema.parse(withModel({ kind: 'densenet', norm: 'group' }));
    expect(studyPlan(group, 100).task.norm).toBe('group');
    expect(studySettingsOf(group).model.norm).toBe('group');
    expect(studySettingsSchema.safeParse(studySettingsOf(group)).success).toBe(true);
    const batch = federationConfigSchema.parse(withModel({ kind: 'densenet', norm: 'batch' }));
    expect('norm' in studyPlan(batch, 100).task).toBe(false);
    expect('norm' in studySettingsOf(batch).model).toBe(false);
    // small-cnn has no norm: nothing to show.
    expect('norm' in studyPlan(federationConfigSchema.parse(withModel({ norm: 'group' })), 100).task).toBe(false);
  });
});
