import { federationConfigSchema, type FederationConfig } from '@fedward/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli-flags';
import { resolveFederation, SettingsConflictError, type CreateFederation } from '../src/federation-settings';
import type { FederationOverrides } from '../src/server';
import { Store } from '../src/store';
import { tempDb } from './helpers';

const BASE = {
  id: 'demo',
  name: 'Demo',
  rounds: 5,
  minClients: 3,
  roundDeadlineMs: 600_000,
  maxUpdateBytes: 1 << 20,
  chunkBytes: 4096,
  model: { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 42 },
  training: { epochs: 4, batchSize: 16, learningRate: 0.01 },
} as const;

/** Like server.ts's createFederation, without building a model: round 0 holds no tensors. */
const create: CreateFederation = async (store, o) => {
  const config = federationConfigSchema.parse({ ...BASE, ...o, model: { ...BASE.model, ...o.model }, training: { ...BASE.training, ...o.training } });
  store.createFederation(config, []);
  return config;
};

/** The overrides the command line makes of these flags. */
const flags = (...argv: string[]): FederationOverrides => {
  const r = parseCli(argv, {});
  if (!r.ok) throw new Error('bad flags');
  return r.options.federation;
};

let store: Store | null = null;
afterEach(() => {
  store?.close();
  store = null;
});

async function stored(overrides: FederationOverrides): Promise<{ store: Store; config: FederationConfig }> {
  store = new Store(tempDb());
  return { store, config: (await resolveFederation(store, overrides, { create })).config };
}

describe('resolveFederation', () => {
  it('creates the federation from the flags when the database has none, with the privacy defaults filled in', async () => {
    const { store, config } = await stored(flags('--rounds', '8', '--dp-noise', '1.5', '--dp-unit', 'patient'));
    expect(config).toMatchObject({ id: 'demo', rounds: 8, privacy: { noiseMultiplier: 1.5, unit: 'patient', clipNorm: 1, targetEpsilon: 8 } });
    expect(store.currentFederation()).toEqual(config);
    expect(store.auditEntries()[0]).toMatchObject({ actor: 'server', action: 'federation-created', detail: 'demo' });
  });

  it('accepts a start whose flags are absent or equal to the stored values', async () => {
    const argv = ['--rounds', '8', '--deadline-s', '60', '--model', 'small-cnn', '--dp-noise', '1.5', '--dp-clip', '1', '--dp-vn', 'heuristic'];
    const { store, config } = await stored(flags(...argv));
    for (const again of [flags(...argv), flags(), flags('--epochs', '4'), {}]) {
      expect(await resolveFederation(store, again, { create })).toEqual({ config, notes: [] });
    }
  });

  it('refuses every flag that differs, one line each, naming the flag and both values', async () => {
    const { store } = await stored(flags('--rounds', '5'));
    const given = flags('--rounds', '8', '--deadline-s', '60', '--dp-noise', '2', '--input-size', '32');
    const err = await resolveFederation(store, given, { create }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SettingsConflictError);
    const lines = (err as Error).message.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '--rounds 8 conflicts with the stored federation demo (rounds = 5)',
      '--deadline-s 60 conflicts with the stored federation demo (deadline-s = 600)',
      '--dp-noise 2 conflicts with the stored federation demo (dp-noise not set)',
    ]);
    expect(lines[3]).toMatch(/^The database's settings win.*--reset.*another --db\.$/);
    expect((err as SettingsConflictError).conflicts.map((c) => c.setting)).toEqual(['rounds', 'roundDeadlineMs', 'privacy.noiseMultiplier']);
    expect(store.federationIds()).toEqual(['demo']);
  });

  it('names a setting that has no flag by its path', async () => {
    const { store } = await stored({});
    const err = (await resolveFederation(store, { chunkBytes: 8192 }, { create }).catch((e: unknown) => e)) as Error;
    expect(err.message.split('\n')[0]).toBe('federation setting chunkBytes = 8192 conflicts with the stored federation demo (chunkBytes = 4096)');
  });

  it('with reset, starts a new federation under a new id that becomes the current one', async () => {
    const { store } = await stored(flags('--rounds', '5'));
    const first = await resolveFederation(store, flags('--rounds', '8'), { create, reset: true });
    expect(first.config).toMatchObject({ id: 'demo-2', rounds: 8 });
    expect(first.notes).toEqual(['--reset: started federation demo-2; demo is stopped (its 0 finished rounds stay in the file)']);
    expect(store.currentFederation()?.id).toBe('demo-2');
    expect(store.auditEntries()[0]).toMatchObject({ action: 'federation-reset', detail: 'demo (0 finished rounds) replaced by demo-2' });
    const second = await resolveFederation(store, {}, { create, reset: true });
    expect(second.config).toMatchObject({ id: 'demo-3', rounds: 5 });
    expect(store.federationIds()).toEqual(['demo', 'demo-2', 'demo-3']);
    // The new federation's settings are the ones checked from now on.
    await expect(resolveFederation(store, flags('--rounds', '5'), { create })).resolves.toMatchObject({ config: { id: 'demo-3' } });
  });

  it('with reset, refuses an id the database already has', async () => {
    const { store } = await stored({});
    await expect(resolveFederation(store, { id: 'demo' }, { create, reset: true })).rejects.toThrow('already has a federation demo');
  });
});

describe('DP-SGD flags', () => {
  it('--dp-sgd-sampling uniform and --dp-sgd-reduction mean reach the new federation, with the DP-SGD defaults filled in', async () => {
    const { config } = await stored(flags('--dp-sgd-noise', '1.2', '--dp-sgd-sampling', 'uniform', '--dp-sgd-reduction', 'mean'));
    expect(config.dpSgd).toEqual({ noiseMultiplier: 1.2, clip: 1, targetEpsilon: 8, delta: 1e-5, sampling: 'uniform', reduction: 'mean' });
    store?.close();
    const { config: plain } = await stored(flags('--dp-sgd-noise', '1.2'));
    expect(plain.dpSgd).toEqual({ noiseMultiplier: 1.2, clip: 1, targetEpsilon: 8, delta: 1e-5, sampling: 'poisson' });
    store?.close();
    await expect(stored(flags('--dp-sgd-noise', '1.2', '--dp-sgd-sampling', 'shuffle'))).rejects.toThrow();
    expect(parseCli(['--dp-sgd-reduction', 'mean'], {}).ok).toBe(false);
  });
});
