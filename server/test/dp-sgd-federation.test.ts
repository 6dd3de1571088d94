import { describe, expect, it } from 'vitest';
import { dpSgdEpsilon } from '@fedward/privacy';
import { memoryTrainingStateStore, type ClientEvent } from '@fedward/client';
import { client, patientData, runToEnd, serverPerTest, tempDb } from './helpers';

const servers = serverPerTest();
const dpSgd = { noiseMultiplier: 1, clip: 1, targetEpsilon: 8.8, delta: 1e-5, sampling: 'poisson' as const };
const training = { epochs: 1, batchSize: 8, learningRate: 0.01 };

describe('DP-SGD inside Node hospitals on the real server', () => {
  it('each hospital accounts its own ε per patient; the watchdog stops the one whose next round would pass its budget, and the others go on', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { rounds: 3, minClients: 3, minUpdates: 2, model: { inputSize: 16 }, training, dpSgd } });
    const cState = memoryTrainingStateStore();
    // Rounds start with all three (minClients 3) and release with two (minUpdates 2), so round 3 goes on without c.
    // a and b: 40 patients of one slice (q = 8/40, 5 steps a round); c: 2 patients (q = 1, 1 step a round).
    const runs = await Promise.all([
      runToEnd(client(server.url, server.createToken('a'), 16, 31, { train: patientData(16, 40, 31, 1) })),
      runToEnd(client(server.url, server.createToken('b'), 16, 32, { train: patientData(16, 40, 32, 1) })),
      runToEnd(client(server.url, server.createToken('c'), 16, 33, { train: patientData(16, 8, 33, 4), trainingState: cState })),
    ]);
    const eps = (q: number, steps: number) => dpSgdEpsilon({ runs: [{ samplingProbability: q, steps }], noiseMultiplier: 1, delta: 1e-5 }).epsilon;
    const local = (events: ClientEvent[]) => events.filter((e): e is Extract<ClientEvent, { type: 'dp-sgd' }> => e.type === 'dp-sgd');
    // a: ε per patient after each round's epoch, from its own steps only.
    expect(local(runs[0]!).map((e) => e.epsilon)).toEqual([5, 10, 15].map((s) => eps(0.2, s)));
    expect(local(runs[0]!).every((e) => e.unit === 'patient' && e.target === 8.8)).toBe(true);
    // c: two rounds, then round 3 would take it to ε ≈ 9.09 > 8.8: it stops before training.
    expect(local(runs[2]!).map((e) => e.epsilon)).toEqual([1, 2].map((s) => eps(1, s)));
    const stopped = runs[2]!.find((e): e is Extract<ClientEvent, { type: 'dp-sgd-stopped' }> => e.type === 'dp-sgd-stopped')!;
    expect(stopped).toMatchObject({ round: 3, target: 8.8, unit: 'patient' });
    expect(stopped.projected).toBeCloseTo(eps(1, 3), 12);
    expect(stopped.projected).toBeGreaterThan(8.8);
    // The federation finished all three rounds; round 3 without c. Each round records each hospital's own ε.
    const rounds = server.coordinator.snapshot([]).rounds;
    expect(rounds.map((r) => r.participants.map((p) => p.hospital))).toEqual([['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b']]);
    expect(rounds[1]!.participants.find((p) => p.hospital === 'c')!.dpSgdEpsilon).toBeCloseTo(eps(1, 2), 12);
    expect(rounds[2]!.participants.find((p) => p.hospital === 'a')!.dpSgdEpsilon).toBeCloseTo(eps(0.2, 15), 12);
    expect(runs[0]!.some((e) => e.type === 'federation-done')).toBe(true);
    // c's steps are kept with its training state (IndexedDB in the app), so a reload does not reset its accountant.
    expect((await cState.load())!.dpSgd).toEqual([{ samplingProbability: 1, steps: 2 }]);
  }, 300_000);

  it("uniform sampling (deepee's): every local ε, the ε sent and the watchdog use the GDP CLT accountant; the mean reduction trains", async () => {
    const uniform = { ...dpSgd, targetEpsilon: 14, sampling: 'uniform' as const, reduction: 'mean' as const };
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { rounds: 3, minClients: 3, minUpdates: 2, model: { inputSize: 16 }, training, dpSgd: uniform } });
    // a: 40 patients (q = 8/40, 5 steps a round); c: 2 patients (q = 1, 1 step a round).
    const runs = await Promise.all([
      runToEnd(client(server.url, server.createToken('a'), 16, 41, { train: patientData(16, 40, 41, 1) })),
      runToEnd(client(server.url, server.createToken('b'), 16, 42, { train: patientData(16, 40, 42, 1) })),
      runToEnd(client(server.url, server.createToken('c'), 16, 43, { train: patientData(16, 8, 43, 4) })),
    ]);
    const gdp = (q: number, steps: number) => dpSgdEpsilon({ runs: [{ samplingProbability: q, steps }], noiseMultiplier: 1, delta: 1e-5, sampling: 'uniform' }).epsilon;
    const local = (events: ClientEvent[]) => events.filter((e): e is Extract<ClientEvent, { type: 'dp-sgd' }> => e.type === 'dp-sgd');
    expect(local(runs[0]!).map((e) => e.epsilon)).toEqual([5, 10, 15].map((s) => gdp(0.2, s)));
    expect(local(runs[0]!).every((e) => e.sampling === 'uniform')).toBe(true);
    // c: GDP ε 8.26 and 12.67 after rounds 1 and 2; round 3 would take it to 16.40 > 14 (Poisson's RDP would say 9.09, within it).
    expect(local(runs[2]!).map((e) => e.epsilon)).toEqual([1, 2].map((s) => gdp(1, s)));
    const stopped = runs[2]!.find((e): e is Extract<ClientEvent, { type: 'dp-sgd-stopped' }> => e.type === 'dp-sgd-stopped')!;
    expect(stopped).toMatchObject({ round: 3, target: 14, sampling: 'uniform' });
    expect(stopped.projected).toBeCloseTo(gdp(1, 3), 12);
    expect(dpSgdEpsilon({ runs: [{ samplingProbability: 1, steps: 3 }], noiseMultiplier: 1, delta: 1e-5 }).epsilon).toBeLessThan(14);
    const rounds = server.coordinator.snapshot([]).rounds;
    expect(rounds.map((r) => r.participants.map((p) => p.hospital))).toEqual([['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b']]);
    expect(rounds[2]!.participants.find((p) => p.hospital === 'a')!.dpSgdEpsilon).toBeCloseTo(gdp(0.2, 15), 12);
  }, 300_000);

  it('refuses DP-SGD with a model that normalises with batch statistics', async () => {
    await expect(servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { model: { kind: 'vgg-slim', inputSize: 32 }, dpSgd } })).rejects.toThrow(/DP-SGD clips each record's own gradient/);
  });
});
