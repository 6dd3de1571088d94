import type { Socket } from 'socket.io-client';
import { hasFields, receiptFields, type Ack, type HospitalToServer, type ServerToHospital } from '@fedward/protocol';
import type { ClientEvent } from './events';

export type HospitalSocket = Socket<ServerToHospital, HospitalToServer>;

/**
 * One message this hospital sent, as its receipt shows it: the message, when, every field with its
 * value (binary fields as their length: `{ binaryBytes: n }`), and its size on the wire (JSON text
 * plus binary bytes, roughly what Socket.io sends).
 */
export interface SentMessage {
  at: number;
  message: string;
  fields: Record<string, unknown>;
  bytes: number;
}

/**
 * Reports every message the socket sends, at the one place they all pass (socket.emit; `timeout()`
 * returns the same socket), so a receipt cannot miss one that a new code path adds.
 */
export function recordSent(socket: HospitalSocket, onSent: (m: SentMessage) => void): void {
  const emit = socket.emit.bind(socket) as (event: string, ...args: unknown[]) => HospitalSocket;
  (socket as unknown as { emit: (event: string, ...args: unknown[]) => HospitalSocket }).emit = (event, ...args) => {
    const payload = args[0];
    if (hasFields(payload)) {
      const { fields, binaryBytes } = receiptFields(payload);
      onSent({ at: Date.now(), message: event, fields, bytes: JSON.stringify(fields).length + binaryBytes });
    }
    return emit(event, ...args);
  };
}

/**
 * Emits with an acknowledgement. A connection that is down, or drops before the answer, resolves
 * as a failure at once instead of waiting for the timeout (Socket.io would otherwise buffer the
 * event and send it, stale, after reconnecting).
 */
export function request<T extends object>(
  socket: HospitalSocket,
  event: 'update-begin' | 'update-chunk' | 'update-end' | 'evaluation' | 'secagg-keys' | 'secagg-shares' | 'secagg-reveal',
  payload: unknown,
  timeoutMs = 60_000,
): Promise<Ack<T>> {
  const fail = (message: string): Ack<T> => ({ ok: false, error: { code: 'internal', message: `${event}: ${message}` } });
  if (!socket.connected) return Promise.resolve(fail('not connected to the server'));
  return new Promise((resolve) => {
    const onDisconnect = () => resolve(fail('the connection dropped before the server answered'));
    socket.once('disconnect', onDisconnect);
    (socket.timeout(timeoutMs) as unknown as Socket).emit(event, payload, (err: Error | null, r: Ack<T>) => {
      socket.off('disconnect', onDisconnect);
      resolve(err ? fail(err.message) : r);
    });
  });
}

/**
 * Sends one update (already encoded) in acknowledged chunks: update-begin, the chunks, update-end.
 * Yields upload progress; returns the server's refusal, or null once it has the whole update.
 */
export async function* uploadUpdate(
  socket: HospitalSocket,
  begin: { round: number; trainSamples: number; trainLoss: number; backend: string; subClient: number; subClients: number; steps: number; masked?: { updates: number }; dpSgdEpsilon?: number },
  payload: Uint8Array,
  chunkBytes: number,
): AsyncGenerator<ClientEvent, ClientEvent | null> {
  const { round, subClient, subClients } = begin;
  const sub = { subClient, subClients };
  const started = await request<object>(socket, 'update-begin', { ...begin, totalBytes: payload.length });
  if (!started.ok) return { type: 'rejected', error: started.error };
  for (let index = 0, sent = 0; sent < payload.length; index++) {
    const chunk = payload.subarray(sent, sent + chunkBytes);
    const r = await request<{ received: number }>(socket, 'update-chunk', { round, index, data: chunk });
    if (!r.ok) return { type: 'rejected', error: r.error };
    sent += chunk.length;
    socket.emit('status', { phase: 'uploading', round, progress: (subClient + sent / payload.length) / subClients, ...sub });
    yield { type: 'upload', round, ...sub, sentBytes: sent, totalBytes: payload.length };
  }
  const end = await request<object>(socket, 'update-end', { round });
  if (!end.ok) return { type: 'rejected', error: end.error };
  return null;
}
