import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { federationConfigSchema } from '@fedward/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { syncDemoTokens } from '../src/demo-tokens';
import { hashToken, newToken } from '../src/secrets';
import { Store } from '../src/store';
import { tempDb } from './helpers';

let store: Store | null = null;
afterEach(() => {
  store?.close();
  store = null;
});

function setUp() {
  const path = tempDb();
  store = new Store(path);
  const config = federationConfigSchema.parse({
    id: 'demo', name: 'Demo', rounds: 1, minClients: 1, roundDeadlineMs: 60_000, maxUpdateBytes: 1024, chunkBytes: 1024,
    model: { kind: 'small-cnn', inputSize: 8, channels: 1, numClasses: 2, seed: 1 },
    training: { epochs: 1, batchSize: 1, learningRate: 0.1 },
  });
  store.createFederation(config, []);
  const s = store;
  const createToken = (hospital: string) => {
    const token = newToken();
    s.addToken('demo', hospital, hashToken(token));
    return token;
  };
  const file = join(dirname(path), 'tokens.json');
  return { store: s, file, sync: (hospitals: string[]) => syncDemoTokens({ store: s, federationId: 'demo', hospitals, file, createToken }) };
}

describe('syncDemoTokens', () => {
  it('creates each token once; later starts only count them', () => {
    const { file, sync } = setUp();
    const first = sync(['left', 'right']);
    expect(first.created.map((c) => c.hospital)).toEqual(['left', 'right']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = readFileSync(file, 'utf8');
    expect(sync(['left', 'right'])).toEqual({ created: [], enrolled: 2, revoked: [], notes: [] });
    expect(readFileSync(file, 'utf8')).toBe(saved);
  });

  it('replaces a token the database does not know and says so', () => {
    const { file, sync } = setUp();
    writeFileSync(file, JSON.stringify({ left: 'fwd_stale' }), { mode: 0o644 });
    const r = sync([]);
    expect(r.created.map((c) => c.hospital)).toEqual(['left']);
    expect(r.notes).toEqual([`the token for left in ${file} is not enrolled in federation demo of this database; created a new one`]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('does not undo a revocation by re-creating a revoked token', () => {
    const { store, file, sync } = setUp();
    sync(['left', 'right']);
    store.revokeToken(store.tokens('demo').find((t) => t.hospital === 'left')!.id);
    const saved = readFileSync(file, 'utf8');
    expect(sync(['left', 'right'])).toEqual({ created: [], enrolled: 1, revoked: ['left'], notes: [] });
    expect(readFileSync(file, 'utf8')).toBe(saved);
  });
});
