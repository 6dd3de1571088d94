/**
 * A hello whose answer never comes (the connection dropped between hello and its answer, or the
 * server stalled) must not leave the hospital waiting forever: the client reconnects and says
 * hello again.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWeights, type FederationConfig, type NamedTensor } from '@fedward/protocol';
import type { ModelEngine } from '@fedward/models';
import { MemoryPatientDataset, participate, type ClientEvent } from '../src';

const config: FederationConfig = {
  id: 'fed-1',
  name: 'test',
  rounds: 1,
  minClients: 1,
  roundDeadlineMs: 60_000,
  maxUpdateBytes: 1 << 20,
  chunkBytes: 1024,
  model: { kind: 'small-cnn', inputSize: 8, channels: 1, numClasses: 2, seed: 1 },
  training: { epochs: 1, batchSize: 4, learningRate: 0.1 },
};
const GLOBAL: NamedTensor[] = [{ name: 'w', shape: [1], values: Float32Array.of(0) }];

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

describe('hello', () => {
  it('reconnects and says hello again when the first hello gets no answer', async () => {
    const http = createServer();
    const io = new Server(http);
    let hellos = 0;
    io.on('connection', (socket) => {
      socket.on('hello', (_msg: unknown, ack: (r: unknown) => void) => {
        hellos += 1;
        // The first hello is swallowed, as if the answer were lost on the way.
        if (hellos === 1) return;
        ack({ ok: true, hospital: 'hospital-a', config, round: 0, weights: encodeWeights(GLOBAL) });
        setTimeout(() => socket.emit('federation-done', { round: 0 }), 10);
      });
    });
    await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
    close = () => new Promise((ok) => io.close(() => ok()));
    const engine = { setWeights: () => {}, dispose: () => {} } as unknown as ModelEngine;
    const events: ClientEvent[] = [];
    for await (const e of participate({
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      token: 'fwd_t',
      backend: 'cpu',
      train: new MemoryPatientDataset([{ x: Float32Array.of(1), label: 0, patient: 'p' }]),
      test: { size: 0, async *batches() {} },
      createModel: () => engine,
      helloTimeoutMs: 300,
    }))
      events.push(e);
    expect(hellos).toBe(2);
    const lost = events.findIndex((e) => e.type === 'disconnected' && /no answer to hello/.test(e.reason));
    const connected = events.findIndex((e) => e.type === 'connected');
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(connected).toBeGreaterThan(lost);
    expect(events.at(-1)).toEqual({ type: 'federation-done', round: 0 });
  }, 30_000);
});
