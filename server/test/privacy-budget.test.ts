import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { PrivacyLedger, gaussianRounds } from '@fedward/privacy';
import type { FederationSnapshot } from '@fedward/protocol';
import { client, runToEnd, serverPerTest, tempDb } from './helpers';

const servers = serverPerTest();

describe('privacy budget on the server', () => {
  it('adds DP noise, stores the ledger with each round, and refuses the round that would overspend', async () => {
    const z = 1.5;
    const delta = 1e-5;
    // With one update per hospital, replacing a hospital's (or a patient's) data moves the noised
    // integer sum by up to 2·bound, and its noise has std ≥ z·bound: multiplier z/2 (up to the
    // integer variance S = t·u ≥ (z·bound)², < 1e-4 relative here). A target between ε after 2 rounds and after 3.
    const eps = (t: number) => new PrivacyLedger().record(gaussianRounds({ noiseMultiplier: z / 2, count: t })).epsilon(delta).epsilon;
    const target = (eps(2) + eps(3)) / 2;
    const dbPath = tempDb();
    const privacy = { noiseMultiplier: z, clipNorm: 1, targetEpsilon: target, delta, unit: 'hospital' as const, accountant: 'rdp' as const, virtualClients: 1 };
    const server = await servers.start({
      dbPath,
      port: 0,
      adminPassword: 'pw',
      federation: { rounds: 5, minClients: 2, model: { inputSize: 16 }, training: { epochs: 1, batchSize: 8, learningRate: 0.01 }, privacy },
    });
    const runs = await Promise.all(['p', 'q'].map((n, i) => runToEnd(client(server.url, server.createToken(n), 16, i + 40))));
    for (const events of runs) {
      expect(events.at(-1)).toMatchObject({ type: 'federation-done', round: 2, reason: expect.stringMatching(/privacy budget/) });
    }

    const snap: FederationSnapshot = server.coordinator.snapshot([]);
    expect(snap.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(snap.stopReason).toMatch(/privacy budget.*round would bring ε per hospital/);
    expect(snap.privacy!.spent!.hospital).toBeCloseTo(eps(2), 2);
    expect(snap.privacy!.next!.allowed).toBe(false);
    const dp = snap.rounds[1]!.dp!;
    expect(dp.sigma / (z / 2) - 1).toBeLessThan(1e-3);
    expect(dp.epsilon!.hospital).toBeCloseTo(eps(2), 2);
    // VN = 1: a patient can change the hospital's only update, so the two relations coincide.
    expect(dp.epsilon!.patient).toBe(dp.epsilon!.hospital);
    expect(snap.rounds[0]!.dp!.epsilon!.hospital).toBeLessThan(dp.epsilon!.hospital);

    // The ledger sits in the same row as the released weights.
    const db = new Database(dbPath, { readonly: true });
    const row = db.prepare('SELECT ledger FROM rounds WHERE round = 2').get() as { ledger: string };
    expect(PrivacyLedger.fromJSON(JSON.parse(row.ledger).hospital).entries).toHaveLength(2);
    db.close();

    // After a restart the spent budget is read back and the round is still refused.
    await servers.close();
    const restarted = await servers.start({ dbPath, port: 0 });
    expect(restarted.coordinator.snapshot([]).privacy!.spent!.hospital).toBeCloseTo(eps(2), 2);
    const again = await Promise.all(['p', 'q'].map((n, i) => runToEnd(client(restarted.url, restarted.createToken(n), 16, i + 50))));
    for (const events of again) {
      expect(events.some((e) => e.type === 'round-start')).toBe(false);
      expect(events.at(-1)).toMatchObject({ type: 'federation-done', round: 2, reason: expect.stringMatching(/privacy budget/) });
    }
    expect(restarted.store.rounds(restarted.config.id)).toHaveLength(2);
  }, 240_000);
});
