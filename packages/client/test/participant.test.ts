import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dataset } from '@fedward/models';
import { AsyncQueue, ParticipantError, participate } from '../src';

const empty: Dataset = { size: 0, async *batches() {} };
let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

/** A real Socket.io server whose handshake refuses every token, as Fedward's does for unknown ones. */
async function refusingServer(): Promise<string> {
  const http = createServer();
  const io = new Server(http);
  // As the real server refuses: a final refusal carries data.final (retrying cannot change it).
  io.use((_socket, next) => next(Object.assign(new Error('unknown or revoked enrolment token: ask the federation admin for a new one'), { data: { final: true } })));
  await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
  close = () => new Promise((ok) => io.close(() => ok()));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

describe('AsyncQueue', () => {
  it('hands items over in order, whether they arrive before or after the wait', async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    const waiting = [q.next(), q.next()];
    q.push(2);
    q.push(3);
    expect(await Promise.all([...waiting, q.next()])).toEqual([1, 2, 3]);
  });
});

describe('participate', () => {
  it('stops with the server’s reason when the enrolment token is refused, instead of retrying forever', async () => {
    const url = await refusingServer();
    const run = participate({
      url,
      token: 'fwd_wrong',
      backend: 'cpu',
      train: empty,
      test: empty,
      createModel: () => {
        throw new Error('no model should be built before the server accepts the token');
      },
    });
    const error = await run.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParticipantError);
    expect((error as Error).message).toMatch(/enrolment token/);
  });

  it('ends quietly when its signal is aborted while waiting for the server', async () => {
    const controller = new AbortController();
    const run = participate({
      url: 'http://127.0.0.1:9', // nothing listens there; the client keeps trying until aborted
      token: 'fwd_x',
      backend: 'cpu',
      train: empty,
      test: empty,
      createModel: () => {
        throw new Error('unreachable');
      },
      signal: controller.signal,
    });
    const seen: string[] = [];
    setTimeout(() => controller.abort(), 300);
    for await (const e of run) seen.push(e.type);
    expect(seen.every((t) => t === 'disconnected')).toBe(true);
  });
});
