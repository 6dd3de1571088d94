import { describe, expect, it } from 'vitest';
import { decodeServerState } from '../src/dp';
import { client, patientData, runToEnd, serverPerTest, tempDb } from './helpers';

const servers = serverPerTest();

const training = { epochs: 1, batchSize: 8, learningRate: 0.01 };

/** The server_state blob stored with a round. */
function storedState(server: Awaited<ReturnType<typeof servers.start>>, round: number) {
  const latest = server.store.latestRound(server.config.id);
  expect(latest.round).toBe(round);
  return latest.serverState ? decodeServerState(latest.serverState) : null;
}

describe('server optimizers and clip rules in a running federation', () => {
  it('DP-FedAdam with the seed’s median clip: records say it is not private (ε = ∞); Adam moments survive a restart', async () => {
    const dbPath = tempDb();
    const federation = {
      rounds: 2,
      minClients: 2,
      model: { inputSize: 16 },
      training,
      aggregation: { strategy: 'fedadam' as const, serverLearningRate: 0.01 },
      privacy: { noiseMultiplier: 0.5, clipNorm: 1, targetEpsilon: 1e6, delta: 1e-5, unit: 'hospital' as const, accountant: 'rdp' as const, clipRule: 'median' as const, virtualClients: 2 },
    };
    const server = await servers.start({ dbPath, port: 0, adminPassword: 'pw', federation });
    // The server stops as soon as round 1 is released (round 2 is training, nothing of it saved).
    const stops = ['a', 'b'].map(() => new AbortController());
    const runs = ['a', 'b'].map((n, i) =>
      runToEnd(client(server.url, server.createToken(n), 16, 20 + i, { train: patientData(16, 32, 20 + i), signal: stops[i]!.signal })),
    );
    while (server.coordinator.round < 2) await new Promise((r) => setTimeout(r, 5));
    const snapshot = server.coordinator.snapshot([]);
    await servers.close();
    stops.forEach((s) => s.abort());
    await Promise.all(runs);
    const dp = snapshot.rounds[0]!.dp!;
    expect(dp).toMatchObject({ strategy: 'fedadam', clipRule: 'median', private: false, epsilon: null, updates: 4, virtualClients: 2 });
    expect(snapshot.privacy).toMatchObject({ private: false, spent: null, next: null });
    expect(dp.clip).toBeLessThanOrEqual(25);

    // Restarted, the server takes its next Adam step from the stored moments: the state counts 2 rounds.
    const again = await servers.start({ dbPath, port: 0 });
    const after1 = storedState(again, 1)!;
    expect(after1.rounds).toBe(1);
    expect(after1.adam!.m).toHaveLength(again.coordinator.globalWeights.length);
    await Promise.all(['a', 'b'].map((n, i) => runToEnd(client(again.url, again.createToken(n), 16, 20 + i, { train: patientData(16, 32, 20 + i) }))));
    const after2 = storedState(again, 2)!;
    expect(after2.rounds).toBe(2);
    // m ← 0.9·m + 0.1·A: one coordinate's m after round 2 still carries 0.9 of round 1's.
    expect(after2.adam!.m[0]!.values).not.toEqual(after1.adam!.m[0]!.values);
  }, 120_000);

  it('FedNova under DP scales by the public τ̄; the private quantile clip moves C between rounds through its noised count', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'pw',
      federation: {
        rounds: 2,
        minClients: 2,
        model: { inputSize: 16 },
        training,
        aggregation: { strategy: 'fednova' as const, publicSteps: 5 },
        privacy: { noiseMultiplier: 1, clipNorm: 5, targetEpsilon: 1e6, delta: 1e-5, unit: 'hospital' as const, accountant: 'rdp' as const, clipRule: 'quantile' as const, virtualClients: 1 },
      },
    });
    await Promise.all(['a', 'b'].map((n, i) => runToEnd(client(server.url, server.createToken(n), 16, 30 + i))));
    const [r1, r2] = server.coordinator.snapshot([]).rounds.map((r) => r.dp!);
    expect(r1).toMatchObject({ strategy: 'fednova', clipRule: 'quantile', private: true, clip: 5 });
    // τ̄ = the public 5 (÷ VN = 1), never the hospitals' own step counts.
    expect(r1!.tauEff).toBe(5);
    expect(r1!.releases.map((x) => x.what)).toEqual(['sum', 'count']);
    expect(r2!.clip).toBeCloseTo(r1!.quantile!.nextClip, 12);
    // C₁ = C₀·exp(−0.2·(b̃/M − ½)) from the released, clamped fraction alone.
    expect(r1!.quantile!.nextClip).toBeCloseTo(5 * Math.exp(-0.2 * (r1!.quantile!.fraction - 0.5)), 12);
  }, 120_000);
});
