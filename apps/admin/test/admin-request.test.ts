import { describe, expect, it } from 'vitest';
import { AdminRequestError, adminRequest } from '../src/api/admin-request';
import type { AdminSocket } from '../src/api/admin-socket';

type Cb = (err: Error | null, answer?: unknown) => void;
const fakeSocket = (connected: boolean, reply: (event: string, msg: unknown, cb: Cb) => void) =>
  ({ connected, timeout: () => ({ emit: reply }) }) as unknown as AdminSocket;

describe('adminRequest', () => {
  it('refuses at once while disconnected instead of buffering the event', async () => {
    let sent = false;
    const socket = fakeSocket(false, () => (sent = true));
    await expect(adminRequest(socket, 'end-round', { study: 'demo', round: 2 })).rejects.toMatchObject({ code: 'offline' });
    expect(sent).toBe(false);
  });

  it('resolves with the ack on success and rejects with the server message otherwise', async () => {
    const ok = fakeSocket(true, (event, msg, cb) => cb(null, { ok: true, outcome: 'cancelled', echo: [event, msg] }));
    await expect(adminRequest(ok, 'end-round', { study: 'demo', round: 2 })).resolves.toMatchObject({ outcome: 'cancelled', echo: ['end-round', { study: 'demo', round: 2 }] });
    const refused = fakeSocket(true, (_e, _m, cb) => cb(null, { ok: false, error: { code: 'wrong-round', message: 'round 2 is over' } }));
    const err = await adminRequest(refused, 'end-round', { study: 'demo', round: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminRequestError);
    expect(err).toMatchObject({ code: 'wrong-round', message: 'round 2 is over' });
  });

  it('turns a missing ack into a timeout error', async () => {
    const silent = fakeSocket(true, (_e, _m, cb) => cb(new Error('operation has timed out')));
    await expect(adminRequest(silent, 'audit-log', { limit: 5 })).rejects.toMatchObject({ code: 'timeout' });
  });
});
