import type { AdminToServer, ProtocolError } from '@fedward/protocol';
import type { AdminSocket } from './admin-socket';

type Message<E extends keyof AdminToServer> = Parameters<AdminToServer[E]>[0];
type Answer<E extends keyof AdminToServer> = Parameters<Parameters<AdminToServer[E]>[1]>[0];
export type Success<E extends keyof AdminToServer> = Extract<Answer<E>, { ok: true }>;

/** An admin request the server refused or did not answer; `code` is the server's, or 'timeout' / 'offline'. */
export class AdminRequestError extends Error {
  constructor(
    message: string,
    readonly code: ProtocolError['code'] | 'offline',
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 15_000;

type LooseEmitter = { emit: (event: string, msg: unknown, ack: (err: Error | null, answer?: unknown) => void) => void };

/**
 * Sends one admin event and waits for its ack. Refuses at once while disconnected: socket.io
 * would otherwise buffer the event and send it after a reconnect, when the round it names may be over.
 */
export function adminRequest<E extends keyof AdminToServer>(socket: AdminSocket, event: E, msg: Message<E>): Promise<Success<E>> {
  if (!socket.connected) {
    return Promise.reject(new AdminRequestError('not connected to the server: wait until the dashboard is live again', 'offline'));
  }
  return new Promise((resolve, reject) => {
    (socket.timeout(TIMEOUT_MS) as unknown as LooseEmitter).emit(event, msg, (err, answer) => {
      if (err) return reject(new AdminRequestError(`the server did not answer within ${TIMEOUT_MS / 1000} s`, 'timeout'));
      const a = answer as Answer<E> | undefined;
      if (a && a.ok === true) return resolve(a as Success<E>);
      if (a && a.ok === false) return reject(new AdminRequestError(a.error.message, a.error.code));
      reject(new AdminRequestError('the server sent an unreadable answer', 'internal'));
    });
  });
}
