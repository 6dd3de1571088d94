import { io, type Socket } from 'socket.io-client';
import {
  decodeWeights,
  encodeWeights,
  type Ack,
  type BackendName,
  type FederationConfig,
  type HospitalToServer,
  type ProtocolError,
  type RoundResult,
  type RoundStart,
  type ServerToHospital,
  type Welcome,
} from '@fedward/protocol';
import type { Dataset, ModelEngine } from '@fedward/models';
import { AsyncQueue } from './async-queue';
import type { ClientEvent } from './events';

export interface ParticipantOptions {
  /** Server origin, e.g. http://127.0.0.1:8080 (the browser app passes its own origin). */
  url: string;
  token: string;
  backend: BackendName;
  train: Dataset;
  test: Dataset;
  /** Builds the federation's model once the server has said which one. */
  createModel: (config: FederationConfig) => ModelEngine;
  signal?: AbortSignal;
}

type HospitalSocket = Socket<ServerToHospital, HospitalToServer>;

type Inbox =
  | { kind: 'connect' }
  | { kind: 'connect-error'; message: string }
  | { kind: 'disconnect'; reason: string }
  | { kind: 'round-start'; msg: RoundStart }
  | { kind: 'round-result'; msg: RoundResult }
  | { kind: 'done'; round: number; reason?: string }
  | { kind: 'protocol-error'; error: ProtocolError }
  | { kind: 'abort' };

export class ParticipantError extends Error {
  override name = 'ParticipantError';
}

/**
 * Runs one hospital's side of a federation: join, then for every round train from the global
 * weights, upload the update in chunks, and evaluate each new global model on the held-out set.
 * Written as an async generator so a UI can render progress and a test can follow the rounds.
 * Reconnects by itself (Socket.io) and says hello again, so a server restart loses nothing.
 */
export async function* participate(options: ParticipantOptions): AsyncGenerator<ClientEvent, void> {
  const inbox = new AsyncQueue<Inbox>();
  const socket: HospitalSocket = io(options.url, {
    auth: { token: options.token },
    transports: ['websocket'],
    reconnectionDelay: 250,
    reconnectionDelayMax: 2000,
  });
  socket.on('connect', () => inbox.push({ kind: 'connect' }));
  socket.on('connect_error', (err) => inbox.push({ kind: 'connect-error', message: err.message }));
  socket.on('disconnect', (reason) => inbox.push({ kind: 'disconnect', reason }));
  socket.on('round-start', (msg) => inbox.push({ kind: 'round-start', msg }));
  socket.on('round-result', (msg) => inbox.push({ kind: 'round-result', msg }));
  socket.on('federation-done', (msg) => inbox.push({ kind: 'done', round: msg.round, ...(msg.reason ? { reason: msg.reason } : {}) }));
  socket.on('protocol-error', (error) => inbox.push({ kind: 'protocol-error', error }));
  const onAbort = () => inbox.push({ kind: 'abort' });
  options.signal?.addEventListener('abort', onAbort);

  let model: ModelEngine | null = null;
  let config: FederationConfig | null = null;
  try {
    for (;;) {
      const item = await inbox.next();
      switch (item.kind) {
        case 'abort':
          return;
        case 'connect-error':
          // The server refuses unknown tokens during the handshake: retrying cannot help.
          if (/token/i.test(item.message)) throw new ParticipantError(item.message);
          yield { type: 'disconnected', reason: item.message };
          break;
        case 'disconnect':
          yield { type: 'disconnected', reason: item.reason };
          break;
        case 'connect': {
          const welcome = await hello(socket, options);
          config = welcome.config;
          model ??= options.createModel(config);
          model.setWeights(decodeWeights(welcome.weights));
          yield { type: 'connected', hospital: welcome.hospital, config, backend: options.backend };
          yield* evaluate(socket, model, options.test, welcome.round, config);
          break;
        }
        case 'round-start':
          if (!model || !config) break;
          yield* trainRound(socket, model, config, options, item.msg);
          break;
        case 'round-result':
          if (!model || !config) break;
          model.setWeights(decodeWeights(item.msg.weights));
          yield { type: 'round-result', round: item.msg.round, participants: item.msg.participants };
          yield* evaluate(socket, model, options.test, item.msg.round, config);
          break;
        case 'protocol-error':
          yield { type: 'rejected', error: item.error };
          break;
        case 'done':
          yield { type: 'federation-done', round: item.round, ...(item.reason ? { reason: item.reason } : {}) };
          return;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    socket.disconnect();
    model?.dispose();
  }
}

function hello(socket: HospitalSocket, options: ParticipantOptions): Promise<Welcome> {
  return new Promise((resolve, reject) => {
    socket.emit(
      'hello',
      { backend: options.backend, trainSamples: options.train.size, testSamples: options.test.size },
      (r) => (r.ok ? resolve(r) : reject(new ParticipantError(r.error.message))),
    );
  });
}

async function* trainRound(
  socket: HospitalSocket,
  model: ModelEngine,
  config: FederationConfig,
  options: ParticipantOptions,
  start: RoundStart,
): AsyncGenerator<ClientEvent> {
  const { round } = start;
  const { epochs, batchSize, learningRate } = config.training;
  yield { type: 'round-start', round, deadline: start.deadline };
  model.setWeights(decodeWeights(start.weights));
  let loss = Number.NaN;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    yield { type: 'epoch-start', round, epoch, epochs };
    const steps = model.trainEpoch(options.train, { epoch, batchSize, learningRate, shuffleSeed: round * 1000 + epoch });
    for (;;) {
      const step = await steps.next();
      if (step.done) {
        loss = step.value.loss;
        break;
      }
      socket.emit('status', { phase: 'training', round, progress: (epoch - 1 + step.value.batch / step.value.batches) / epochs });
      yield { type: 'batch', round, epochs, ...step.value };
    }
    yield { type: 'epoch-end', round, epoch, epochs, loss };
  }
  const payload = encodeWeights(model.getWeights());
  const begin = await request<object>(socket, 'update-begin', {
    round,
    trainSamples: options.train.size,
    trainLoss: loss,
    backend: options.backend,
    totalBytes: payload.length,
  });
  if (!begin.ok) return yield { type: 'rejected', error: begin.error };
  for (let index = 0, sent = 0; sent < payload.length; index++) {
    const data = payload.subarray(sent, sent + config.chunkBytes);
    const r = await request<{ received: number }>(socket, 'update-chunk', { round, index, data });
    if (!r.ok) return yield { type: 'rejected', error: r.error };
    sent += data.length;
    socket.emit('status', { phase: 'uploading', round, progress: sent / payload.length });
    yield { type: 'upload', round, sentBytes: sent, totalBytes: payload.length };
  }
  const end = await request<object>(socket, 'update-end', { round });
  if (!end.ok) return yield { type: 'rejected', error: end.error };
  socket.emit('status', { phase: 'idle', round, progress: 1 });
  yield { type: 'uploaded', round };
}

async function* evaluate(
  socket: HospitalSocket,
  model: ModelEngine,
  test: Dataset,
  round: number,
  config: FederationConfig,
): AsyncGenerator<ClientEvent> {
  if (test.size === 0) return;
  socket.emit('status', { phase: 'evaluating', round, progress: 0 });
  const m = await model.evaluate(test, config.training.batchSize);
  await request(socket, 'evaluation', { round, testSamples: m.samples, accuracy: m.accuracy, loss: m.loss });
  socket.emit('status', { phase: 'idle', round, progress: 1 });
  yield { type: 'evaluated', round, accuracy: m.accuracy, loss: m.loss, samples: m.samples };
}

/** Emits with an acknowledgement; a dropped connection resolves as a failure instead of hanging. */
function request<T extends object>(
  socket: HospitalSocket,
  event: 'update-begin' | 'update-chunk' | 'update-end' | 'evaluation',
  payload: unknown,
  timeoutMs = 60_000,
): Promise<Ack<T>> {
  return new Promise((resolve) => {
    (socket.timeout(timeoutMs) as unknown as Socket).emit(event, payload, (err: Error | null, r: Ack<T>) =>
      resolve(err ? { ok: false, error: { code: 'internal', message: `${event}: ${err.message}` } } : r),
    );
  });
}
