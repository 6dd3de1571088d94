/**
 * The hospital's round loop with sub-clients, against a small Socket.io server that plays the
 * coordinator's part of the protocol, and a fake engine whose "training" adds up its slices, so
 * that which patients fed which update can be read off the weights.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeWeights, encodeWeights, type FederationConfig, type Hello, type NamedTensor, type UpdateBegin } from '@fedward/protocol';
import { encodeOptimizerState, type BatchProgress, type Dataset, type EpochResult, type ModelEngine, type OptimizerState, type TrainEpochOptions } from '@fedward/models';
import { MemoryPatientDataset, memoryTrainingStateStore, participate, splitFingerprint, splitIntoSubClients, subClientKey, type ClientEvent } from '../src';

const config: FederationConfig = {
  id: 'fed-1',
  name: 'test',
  rounds: 3,
  minClients: 1,
  roundDeadlineMs: 60_000,
  maxUpdateBytes: 1 << 20,
  chunkBytes: 1024,
  model: { kind: 'small-cnn', inputSize: 8, channels: 1, numClasses: 2, seed: 1 },
  training: { epochs: 1, batchSize: 4, learningRate: 0.1 },
};
const GLOBAL: NamedTensor[] = [{ name: 'w', shape: [2], values: Float32Array.from([0.5, -1]) }];

/** "Training" adds every sample's first value (its patient number) to w[0], and counts steps in the optimizer state. */
class FakeEngine implements ModelEngine {
  readonly spec = config.model;
  readonly backend = 'cpu';
  private w = new Float32Array(2);
  private state: OptimizerState | null = null;
  /** The optimizer state each training started from (null = fresh), in training order. */
  readonly startedFrom: (number | null)[] = [];
  getWeights(): NamedTensor[] {
    return [{ name: 'w', shape: [2], values: this.w.slice() }];
  }
  setWeights(weights: readonly NamedTensor[]): void {
    this.w = weights[0]!.values.slice();
  }
  async *trainEpoch(data: Dataset, options: TrainEpochOptions): AsyncGenerator<BatchProgress, EpochResult> {
    this.startedFrom.push(this.state?.step ?? null);
    let steps = 0;
    let samples = 0;
    const batches = Math.ceil(data.size / options.batchSize);
    for await (const b of data.batches(options.batchSize)) {
      for (let k = 0; k < b.size; k++) this.w[0]! += b.x[k * 2]!;
      samples += b.size;
      steps++;
      const step = (this.state?.step ?? 0) + 1;
      this.state = { step, amsgrad: false, slots: [{ name: 'w', m: new Float32Array(2).fill(step), v: new Float32Array(2) }] };
      yield { epoch: options.epoch, batch: steps, batches, loss: 0.25 };
    }
    return { epoch: options.epoch, loss: 0.25, samples, steps };
  }
  evaluate(): Promise<never> {
    return Promise.reject(new Error('no held-out data in this test'));
  }
  predict(): never {
    throw new Error('participation never predicts');
  }
  getOptimizerState(): OptimizerState | null {
    return this.state;
  }
  setOptimizerState(state: OptimizerState | null): void {
    this.state = state;
  }
  dispose(): void {}
}

interface Received {
  begin: UpdateBegin;
  weights: NamedTensor[];
}

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

/** Plays the coordinator: welcome, then one round per entry of `vns`, the next once VN updates arrived; then done. */
async function fakeCoordinator(vns: number[]) {
  const http = createServer();
  const io = new Server(http, { maxHttpBufferSize: 1 << 22 });
  const hellos: Hello[] = [];
  const updates: Received[][] = vns.map(() => []);
  io.on('connection', (socket) => {
    let round = 0;
    let begin: UpdateBegin | null = null;
    let chunks: Uint8Array[] = [];
    const startRound = () => {
      round++;
      if (round > vns.length) return socket.emit('federation-done', { round: vns.length });
      socket.emit('round-start', { round, deadline: Date.now() + 60_000, weights: encodeWeights(GLOBAL), virtualClients: vns[round - 1]!, probe: false });
    };
    socket.on('hello', (msg: Hello, ack: (r: unknown) => void) => {
      hellos.push(msg);
      ack({ ok: true, hospital: 'hospital-a', config, round: 0, weights: encodeWeights(GLOBAL) });
      setTimeout(startRound, 10);
    });
    socket.on('update-begin', (msg: UpdateBegin, ack: (r: unknown) => void) => {
      begin = msg;
      chunks = [];
      ack({ ok: true });
    });
    socket.on('update-chunk', (msg: { data: Uint8Array }, ack: (r: unknown) => void) => {
      chunks.push(new Uint8Array(msg.data));
      ack({ ok: true, received: chunks.reduce((n, c) => n + c.length, 0) });
    });
    socket.on('update-end', (_msg: unknown, ack: (r: unknown) => void) => {
      const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.length;
      }
      updates[round - 1]!.push({ begin: begin!, weights: decodeWeights(bytes) });
      ack({ ok: true });
      if (updates[round - 1]!.length === vns[round - 1]) setTimeout(startRound, 10);
    });
  });
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  close = () => new Promise((ok) => io.close(() => ok()));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, hellos, updates };
}

/** Patient i has 1 + (i mod 3) slices whose first value is i + 1. */
function patientData(count: number): MemoryPatientDataset {
  const samples = [];
  for (let i = 0; i < count; i++)
    for (let k = 0; k <= i % 3; k++) samples.push({ x: Float32Array.from([i + 1, 0]), label: k % 2, patient: `patient-${i}` });
  return new MemoryPatientDataset(samples);
}

/** A secret for which the split of `train` into `vn` has at least one empty sub-client. */
function secretWithEmptyGroup(train: MemoryPatientDataset, vn: number): string {
  for (let i = 0; ; i++) {
    const split = splitIntoSubClients(train.patients, vn, subClientKey(`secret-${i}`, config.id));
    if (split.nonEmpty < vn && split.nonEmpty > 1) return `secret-${i}`;
  }
}

describe('participate with sub-clients', () => {
  it('sends exactly VN updates every round, in order, empty sub-clients as the unchanged model; fresh optimizer states when VN changes', async () => {
    const server = await fakeCoordinator([4, 4, 3]);
    const train = patientData(6);
    const secret = secretWithEmptyGroup(train, 4);
    const engine = new FakeEngine();
    const trainingState = memoryTrainingStateStore();
    const events: ClientEvent[] = [];
    for await (const e of participate({
      url: server.url,
      token: 'fwd_t',
      backend: 'cpu',
      train,
      test: { size: 0, async *batches() {} },
      trainingState,
      subClientSecret: secret,
      patientIds: 'some',
      createModel: () => engine,
    }))
      events.push(e);

    expect(server.hellos).toEqual([{ backend: 'cpu', trainSamples: train.size, testSamples: 0, patientIds: 'some' }]);
    expect(events.at(-1)).toEqual({ type: 'federation-done', round: 3 });

    const expectedSplit = splitIntoSubClients(train.patients, 4, subClientKey(secret, config.id));
    const patientNumber = (p: string) => Number(p.split('-')[1]) + 1;
    for (const [r, vn] of [[0, 4], [1, 4], [2, 3]] as const) {
      const got = server.updates[r]!;
      expect(got.map((u) => u.begin.subClient)).toEqual([...Array(vn).keys()]);
      expect(got.every((u) => u.begin.subClients === vn)).toBe(true);
      expect(got.reduce((n, u) => n + u.begin.trainSamples, 0)).toBe(train.size);
      const split = splitIntoSubClients(train.patients, vn, subClientKey(secret, config.id));
      got.forEach((u, j) => {
        const group = split.groups[j]!;
        // Each update holds its own patients' slices and no one else's.
        const added = group.reduce((n, p) => n + patientNumber(p) * train.patients[p]!, 0);
        expect(u.weights[0]!.values[0]).toBeCloseTo(GLOBAL[0]!.values[0]! + added, 4);
        expect(u.weights[0]!.values[1]).toBe(GLOBAL[0]!.values[1]);
        if (group.length === 0) {
          expect(u.begin).toMatchObject({ trainSamples: 0, steps: 1, trainLoss: 0 });
          expect(u.weights).toEqual(GLOBAL);
        } else expect(u.begin.trainSamples).toBe(split.slices[j]);
      });
      const announced = events.find((e): e is Extract<ClientEvent, { type: 'sub-clients' }> => e.type === 'sub-clients' && e.round === r + 1)!;
      expect(announced.slices).toEqual(split.slices);
      if (split.nonEmpty < vn) expect(announced.note).toMatch(/no patients/);
    }
    expect(expectedSplit.nonEmpty).toBeLessThan(4);

    // Optimizer states: fresh in round 1; round 2 (same VN) each sub-client resumes its own; round 3 (VN 4 → 3) fresh again.
    const trained = (vn: number) => splitIntoSubClients(train.patients, vn, subClientKey(secret, config.id)).groups.filter((g) => g.length > 0);
    const [r1, r2, r3] = [trained(4).length, trained(4).length, trained(3).length];
    const from = engine.startedFrom;
    expect(from).toHaveLength(r1 + r2 + r3);
    expect(from.slice(0, r1).every((s) => s === null)).toBe(true);
    const ownSteps = expectedSplit.groups.filter((g) => g.length > 0).map((g) => Math.ceil(g.reduce((n, p) => n + train.patients[p]!, 0) / config.training.batchSize));
    expect(from.slice(r1, r1 + r2)).toEqual(ownSteps);
    expect(from.slice(r1 + r2).every((s) => s === null)).toBe(true);
    const kept = await trainingState.load();
    expect(kept!.states).toHaveLength(3);
  }, 60_000);

  it('does not reuse optimizer states kept under another split key, or from before the keyed split', async () => {
    const train = patientData(6);
    const state = encodeOptimizerState({ step: 7, amsgrad: false, slots: [{ name: 'w', m: new Float32Array(2), v: new Float32Array(2) }] });
    for (const split of [undefined, splitFingerprint(subClientKey('another secret', config.id))]) {
      const server = await fakeCoordinator([2]);
      const trainingState = memoryTrainingStateStore();
      await trainingState.save({ federationId: config.id, states: [state, state], ...(split && { split }) });
      const engine = new FakeEngine();
      for await (const e of participate({ url: server.url, token: 't', backend: 'cpu', train, test: { size: 0, async *batches() {} }, trainingState, subClientSecret: 's', createModel: () => engine }))
        void e;
      expect(engine.startedFrom.length).toBeGreaterThan(0);
      expect(engine.startedFrom.every((s) => s === null)).toBe(true);
      expect((await trainingState.load())!.split).toBe(splitFingerprint(subClientKey('s', config.id)));
      await close?.();
      close = null;
    }
  }, 60_000);

  it('without a patient index: sub-client 1 trains on everything, the other VN − 1 send the unchanged model', async () => {
    const server = await fakeCoordinator([3]);
    const samples = Array.from({ length: 5 }, (_, i) => ({ x: Float32Array.from([1, 0]), y: i % 2 }));
    const plain: Dataset = {
      size: samples.length,
      async *batches(batchSize: number) {
        for (let s = 0; s < samples.length; s += batchSize) {
          const part = samples.slice(s, s + batchSize);
          yield { x: Float32Array.from(part.flatMap((p) => [...p.x])), y: Int32Array.from(part, (p) => p.y), size: part.length };
        }
      },
    };
    const events: ClientEvent[] = [];
    for await (const e of participate({ url: server.url, token: 't', backend: 'cpu', train: plain, test: { size: 0, async *batches() {} }, createModel: () => new FakeEngine() }))
      events.push(e);
    expect(server.hellos[0]).not.toHaveProperty('patientIds');
    const got = server.updates[0]!;
    expect(got.map((u) => [u.begin.subClient, u.begin.trainSamples])).toEqual([[0, 5], [1, 0], [2, 0]]);
    expect(got[1]!.weights).toEqual(GLOBAL);
    expect(events.find((e) => e.type === 'sub-clients')).toMatchObject({ slices: [5, 0, 0], note: expect.stringMatching(/no patient index/) });
  }, 60_000);
});
