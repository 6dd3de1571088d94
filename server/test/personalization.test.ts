import { describe, expect, it } from 'vitest';
import { progressiveFourierAggregate } from '@fedward/personalization';
import type { NamedTensor } from '@fedward/protocol';
import { aggregatePersonalized } from '../src/personalization/aggregate';
import { decodeWeights } from '@fedward/protocol';
import { memoryTrainingStateStore, type ClientEvent } from '@fedward/client';
import { client, runToEnd, serverPerTest, tempDb } from './helpers';

const servers = serverPerTest();

const tensor = (name: string, shape: number[], f: (i: number) => number): NamedTensor => ({
  name,
  shape,
  values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)),
});

/** A conv kernel, a batch-norm pair and a dense kernel, different per hospital. */
const model = (k: number): NamedTensor[] => [
  tensor('conv1/kernel', [3, 3, 2, 4], (i) => Math.sin(k + 0.3 * i)),
  tensor('bn1/gamma', [4], (i) => 1 + k + i),
  tensor('bn1/moving_mean', [4], (i) => k * 10 + i),
  tensor('logits/kernel', [4, 2], (i) => Math.cos(k * 0.7 + i)),
  tensor('logits/bias', [2], (i) => k + i),
];

describe('per-hospital aggregation', () => {
  const updates = [0, 1, 2].map((k) => ({ hospital: `h${k}`, weights: model(k), samples: 10 * (k + 1) }));

  it('FedBN averages (sample-weighted) everything but the normalisation tensors, which stay each hospital’s own', () => {
    const out = aggregatePersonalized({ strategy: 'fedbn' }, updates, { round: 0, rounds: 5 });
    const weighted = (i: number, j: number) => updates.reduce((s, u) => s + u.weights[i]!.values[j]! * u.samples, 0) / 60;
    for (const [k, u] of updates.entries()) {
      const mine = out.get(u.hospital)!;
      expect(Array.from(mine[1]!.values)).toEqual(Array.from(model(k)[1]!.values));
      expect(Array.from(mine[2]!.values)).toEqual(Array.from(model(k)[2]!.values));
      for (const i of [0, 3, 4]) expect(mine[i]!.values[1]).toBeCloseTo(weighted(i, 1), 6);
    }
  });

  it('PRR-FL is Progressive Fourier Aggregation over the deputies: one different result per hospital', () => {
    const out = aggregatePersonalized({ strategy: 'prr-fl', lRate: 0.7 }, updates, { round: 1, rounds: 5 });
    const expected = progressiveFourierAggregate(updates.map((u) => u.weights), { round: 1, rounds: 5, lRate: 0.7 });
    updates.forEach((u, k) => expect(out.get(u.hospital)).toEqual(expected[k]));
    expect(Array.from(out.get('h0')![0]!.values)).not.toEqual(Array.from(out.get('h1')![0]!.values));
    // The seed's literal divisor 4 differs from K = 3 on the shared window.
    const seed = aggregatePersonalized({ strategy: 'prr-fl', lRate: 0.7, divisor: 'seed-4' }, updates, { round: 1, rounds: 5 });
    expect(Array.from(seed.get('h0')![0]!.values)).not.toEqual(Array.from(out.get('h0')![0]!.values));
  });
});

describe('PRR-FL on the server', () => {
  it('sends each hospital its own PFA result, stores it, and resumes from it after a restart', async () => {
    const dbPath = tempDb();
    const federation = {
      rounds: 2,
      minClients: 2,
      model: { kind: 'vgg-slim' as const, inputSize: 16 },
      training: { epochs: 1, batchSize: 8, learningRate: 0.05 },
      personalization: { strategy: 'prr-fl' as const },
    };
    const server = await servers.start({ dbPath, port: 0, adminPassword: 'pw', federation });
    const logs: NamedTensor[][][] = [[], []];
    await Promise.all(['a', 'b'].map((n, i) => runToEnd(client(server.url, server.createToken(n), 16, 80 + i, { log: logs[i]! }))));
    const id = server.config.id;
    const ownA = server.store.latestHospitalWeights(id, 'a')!;
    const ownB = server.store.latestHospitalWeights(id, 'b')!;
    expect(ownA.round).toBe(2);
    expect(Array.from(ownA.weights[0]!.values)).not.toEqual(Array.from(ownB.weights[0]!.values));
    // Hospital a got its own round-1 result (round-result), then trained round 2 from it (round-start).
    const round1A = Array.from(server.store.hospitalWeights(id, 1, 'a')![0]!.values);
    expect(round1A).not.toEqual(Array.from(server.store.roundWeights(id, 1)![0]!.values));
    expect(logs[0]!.filter((w) => Array.from(w[0]!.values).every((v, j) => v === round1A[j])).length).toBeGreaterThanOrEqual(2);
    // The last weights hospital a set are its own round-2 result.
    expect(Array.from(logs[0]!.at(-1)![0]!.values)).toEqual(Array.from(ownA.weights[0]!.values));

    // A restarted server welcomes hospital a with its own weights.
    await servers.close();
    const restarted = await servers.start({ dbPath, port: 0 });
    const welcomeLog: NamedTensor[][] = [];
    await runToEnd(client(restarted.url, restarted.createToken('a'), 16, 90, { log: welcomeLog }));
    expect(Array.from(welcomeLog[0]![0]!.values)).toEqual(Array.from(ownA.weights[0]!.values));
  }, 240_000);

  it('trains DET in each hospital: Recover first, the deputy goes out, the personalized model stays and is what is evaluated', async () => {
    const federation = {
      rounds: 2,
      minClients: 2,
      model: { kind: 'vgg-slim' as const, inputSize: 16 },
      training: { epochs: 2, batchSize: 8, learningRate: 0.05 },
      personalization: { strategy: 'prr-fl' as const },
    };
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation });
    const stores = [memoryTrainingStateStore(), memoryTrainingStateStore()];
    const runs = await Promise.all(['a', 'b'].map((n, i) => runToEnd(client(server.url, server.createToken(n), 16, 100 + i, { trainingState: stores[i]! }))));
    for (const events of runs) {
      const stages = events.filter((e): e is Extract<ClientEvent, { type: 'det-stage' }> => e.type === 'det-stage');
      expect(stages.map((e) => `${e.round}.${e.epoch}`)).toEqual(['1.1', '1.2', '2.1', '2.2']);
      // Every round starts in Recover (the seed resets the stage each round).
      expect(stages.filter((e) => e.epoch === 1).every((e) => e.stage === 'recover')).toBe(true);
      const evaluated = events.filter((e): e is Extract<ClientEvent, { type: 'evaluated' }> => e.type === 'evaluated');
      expect(evaluated.map((e) => e.round)).toEqual([0, 1, 2]);
      expect(evaluated.every((e) => e.deputy !== undefined)).toBe(true);
    }
    // The server got deputies only: hospital a's stored result differs from its personalized model.
    const kept = (await stores[0]!.load())!;
    const personal = decodeWeights(kept.personal!);
    const deputy = server.store.latestHospitalWeights(server.config.id, 'a')!.weights;
    // The hospital also keeps the deputy it trained; the server's result for it is that deputy after PFA.
    expect(decodeWeights(kept.deputy!).map((t) => t.name)).toEqual(deputy.map((t) => t.name));
    expect(Array.from(decodeWeights(kept.deputy!)[0]!.values)).not.toEqual(Array.from(deputy[0]!.values));
    expect(personal.map((t) => t.name)).toEqual(deputy.map((t) => t.name));
    expect(Array.from(personal[0]!.values)).not.toEqual(Array.from(deputy[0]!.values));
    // The admin sees both models' accuracy per hospital and round.
    const evals = server.coordinator.snapshot([]).rounds.at(-1)!.evaluations;
    expect(evals.map((e) => e.hospital).sort()).toEqual(['a', 'b']);
    for (const e of evals) expect(e.deputy).toBeDefined();
  }, 240_000);
});
