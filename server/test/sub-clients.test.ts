import { describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { PrivacyLedger, discreteGaussianParameters, gaussianRounds } from '@fedward/privacy';
import { encodeWeights, type FederationSnapshot } from '@fedward/protocol';
import { memoryTrainingStateStore, type ClientEvent, type TrainingStateStore } from '@fedward/client';
import { client, patientData, runToEnd, serverPerTest, tempDb } from './helpers';

const servers = serverPerTest();

const privacy = (extra: object = {}) => ({
  noiseMultiplier: 1,
  clipNorm: 0.5,
  targetEpsilon: 1e6,
  delta: 1e-5,
  unit: 'hospital' as const,
  accountant: 'rdp' as const,
  ...extra,
});

const training = { epochs: 1, batchSize: 8, learningRate: 0.01 };

describe('sub-clients (adaptive intermediaries) end to end', () => {
  it('probes with VN = 1 (noised norm sum only), re-chooses VN from released values, and every hospital sends exactly VN updates', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'pw',
      federation: { rounds: 3, minClients: 3, model: { inputSize: 16 }, training, privacy: privacy({ virtualClients: 'adaptive', normSumNoise: 0.1 }) },
    });
    const states: TrainingStateStore[] = [0, 1, 2].map(() => memoryTrainingStateStore());
    const runs = await Promise.all(
      ['a', 'b', 'c'].map((n, i) =>
        runToEnd(client(server.url, server.createToken(n), 16, 60 + i, { train: patientData(16, 40, 60 + i), trainingState: states[i]! })),
      ),
    );
    const snap: FederationSnapshot = server.coordinator.snapshot([]);
    const [probe, second, third] = snap.rounds.map((r) => r.dp!);
    // Round 1 is the probe: VN = 1, one update per hospital; only the noised norm sum is released.
    expect(probe).toMatchObject({ probe: true, virtualClients: 1, updates: 3 });
    expect(probe!.releases.map((r) => r.what)).toEqual(['norm-sum']);
    expect(server.store.roundWeights(server.config.id, 1)).toEqual(server.store.roundWeights(server.config.id, 0));
    // The rule on released values only: λ̃ = (σ√d on the mean)/(noised Σ min(‖Δ_j‖, C)), v = √(N·λ̃).
    // (The norm sum's noise is 0.1·C here, so it stays positive and the rule always runs.)
    expect(probe!.adaptive!.noisedNormSum).toBeGreaterThan(0);
    const d = server.coordinator.globalWeights.reduce((n, t) => n + t.values.length, 0);
    const sumSigma = discreteGaussianParameters(1 * probe!.grid.bound).sigma;
    const lambda = ((sumSigma / (probe!.grid.scale * 3)) * Math.sqrt(d)) / probe!.adaptive!.noisedNormSum;
    expect(probe!.adaptive!.lambda).toBeCloseTo(lambda, 12);
    expect(probe!.adaptive!.v).toBeCloseTo(Math.sqrt(3 * lambda), 12);
    expect(probe!.adaptive!.next).toBe(Math.max(1, Math.floor(Math.sqrt(3 * lambda))));
    expect(probe!.nextVirtualClients).toBe(probe!.adaptive!.next);
    // Round 2 asks for that VN, and every hospital sends exactly VN updates whatever its patients.
    const vn = probe!.nextVirtualClients;
    expect(second).toMatchObject({ probe: false, virtualClients: vn, updates: 3 * vn });
    expect(second!.releases.map((r) => r.what)).toEqual(['sum', 'norm-sum']);
    expect(third!.virtualClients).toBe(second!.nextVirtualClients);
    for (const r of snap.rounds) expect(r.participants.map((p) => p.subClients)).toEqual(r.participants.map(() => r.dp!.virtualClients));

    // Every hospital saw the split and uploaded each of its VN sub-clients once, in order.
    for (const events of runs) {
      const split = events.find((e): e is Extract<ClientEvent, { type: 'sub-clients' }> => e.type === 'sub-clients' && e.round === 2)!;
      expect(split.slices).toHaveLength(vn);
      expect(split.slices.reduce((a, b) => a + b, 0)).toBe(40);
      const uploaded = events.filter((e) => e.type === 'uploaded' && e.round === 2);
      expect(uploaded.map((e) => (e as { subClient: number }).subClient)).toEqual([...Array(vn).keys()]);
    }
    // Optimizer states: one per sub-client of the last split.
    const kept = await states[0]!.load();
    expect(kept!.states).toHaveLength(third!.virtualClients);

    // Both relations, recomputed here from the released settings: a patient touches one update
    // (multiplier σ/perUpdate per release), a hospital all VN (σ/(VN·perUpdate)); releases compose.
    const eps = (relation: 'patient' | 'hospital') =>
      snap.rounds
        .flatMap((r) => r.dp!.releases.map((x) => x.sigma / ((relation === 'hospital' ? r.dp!.virtualClients : 1) * x.perUpdate)))
        .reduce((l, z) => l.record(gaussianRounds({ noiseMultiplier: z })), new PrivacyLedger())
        .epsilon(1e-5).epsilon;
    expect(snap.privacy!.spent!.patient).toBeCloseTo(eps('patient'), 9);
    expect(snap.privacy!.spent!.hospital).toBeCloseTo(eps('hospital'), 9);
    expect(third!.epsilon!.hospital).toBeCloseTo(eps('hospital'), 9);
    if (vn > 1) expect(snap.privacy!.spent!.hospital).toBeGreaterThan(snap.privacy!.spent!.patient);
  }, 300_000);

  it('drops a hospital that announces more sub-clients than the round asked for, or repeats one', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'pw',
      federation: { rounds: 1, minClients: 2, roundDeadlineMs: 60_000, model: { inputSize: 16 }, training, privacy: privacy({ virtualClients: 2 }) },
    });
    const payload = encodeWeights(server.coordinator.globalWeights);
    const rogue: Socket = io(server.url, { auth: { token: server.createToken('rogue') }, transports: ['websocket'] });
    const call = <T>(s: Socket, event: string, body: unknown) => new Promise<T>((resolve) => s.emit(event, body, (r: T) => resolve(r)));
    const started = new Promise<{ virtualClients: number }>((resolve) => rogue.on('round-start', resolve));
    await new Promise<void>((ok) => rogue.on('connect', () => ok()));
    await call(rogue, 'hello', { backend: 'cpu', trainSamples: 40, testSamples: 8 });
    const honest = runToEnd(client(server.url, server.createToken('honest'), 16, 70, { train: patientData(16, 40, 70) }));
    expect((await started).virtualClients).toBe(2);
    const begin = { round: 1, trainSamples: 20, trainLoss: 0.5, backend: 'cpu', totalBytes: payload.length, steps: 3 };
    // Sub-client 0 of 2 is fine; the same sub-client again is refused; 3 sub-clients is a violation.
    expect(await call<{ ok: boolean }>(rogue, 'update-begin', { ...begin, subClient: 0, subClients: 2 })).toMatchObject({ ok: true });
    expect(await call<{ ok: boolean }>(rogue, 'update-chunk', { round: 1, index: 0, data: payload })).toMatchObject({ ok: true });
    expect(await call<{ ok: boolean }>(rogue, 'update-end', { round: 1 })).toMatchObject({ ok: true });
    const again = await call<{ ok: boolean; error: { message: string } }>(rogue, 'update-begin', { ...begin, subClient: 0, subClients: 2 });
    expect(again.error.message).toMatch(/sub-client 0 of rogue already uploaded/);
    const bad = await call<{ ok: boolean; error: { message: string } }>(rogue, 'update-begin', { ...begin, subClient: 1, subClients: 3 });
    expect(bad.error.message).toMatch(/3 sub-clients announced; round 1 asked for at most 2/);
    const badIndex = await call<{ ok: boolean; error: { message: string } }>(rogue, 'update-begin', { ...begin, subClient: 2, subClients: 2 });
    expect(badIndex.error.message).toMatch(/subClient must be below subClients/);
    rogue.disconnect();
    // The honest hospital finishes the round; the rogue's one accepted update counts as one clipped update.
    await honest;
    const dp = server.coordinator.snapshot([]).rounds[0]!.dp!;
    expect(dp.updates).toBe(1 + 2);
    expect(dp.virtualClients).toBe(2);
  }, 240_000);
});
