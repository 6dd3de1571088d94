import { io, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { encodeWeights, type AuditView } from '@fedward/protocol';
import type { FailureLimitOptions } from '../src/failure-limits';
import { adminSession, serverPerTest, tempDb } from './helpers';

/** Security (issue 13): rate limits, admin sessions, the origin check, the audit log, and answers to every call. */

const servers = serverPerTest();

const small = { rounds: 1, minClients: 2, model: { inputSize: 16 }, training: { epochs: 1, batchSize: 8, learningRate: 0.01 } };
const tight: FailureLimitOptions = { perAddress: [{ failures: 3, seconds: 60 }], global: { failures: 1000, seconds: 60 }, globalBlocksEveryone: false };

const connectError = (url: string, opts: Parameters<typeof io>[1]) =>
  new Promise<string>((resolve, reject) => {
    const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...opts });
    s.on('connect', () => {
      s.close();
      reject(new Error('connected'));
    });
    s.on('connect_error', (e) => {
      s.close();
      resolve(e.message);
    });
  });

const connected = (s: Socket) => new Promise<void>((ok, fail) => {
  s.on('connect', () => ok());
  s.on('connect_error', (e) => fail(e));
});

const call = <T>(s: Socket, event: string, ...args: unknown[]) =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${event}`)), 5_000);
    s.emit(event, ...args, (r: T) => {
      clearTimeout(t);
      resolve(r);
    });
  });

const login = (url: string, password: string) =>
  fetch(`${url}/api/admin/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });

describe('security', () => {
  it('limits wrong-token handshakes per address, and lets the right token through meanwhile', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: small, limits: { handshake: tight } });
    const messages: string[] = [];
    for (let i = 0; i < 6; i++) messages.push(await connectError(server.url, { auth: { token: `fwd_wrong_${i}` } }));
    expect(messages.slice(0, 3).every((m) => /unknown or revoked enrolment token/.test(m))).toBe(true);
    expect(messages.slice(3).every((m) => /too many failed connection attempts.*try again in \d+ s/.test(m))).toBe(true);
    // The same address is refused even with a right token while it is blocked…
    const token = server.createToken('a');
    expect(await connectError(server.url, { auth: { token } })).toMatch(/too many/);
    // …and the wrong-token HTTP check is limited the same way.
    const r = await fetch(`${server.url}/api/studies`, { headers: { authorization: 'Bearer fwd_wrong' } });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(server.coordinator.snapshot([]).log.filter((l) => /refusing .* repeated wrong enrolment tokens/.test(l.message)).length).toBeLessThanOrEqual(3);
    expect(server.store.auditEntries().some((e) => e.action === 'handshake-blocked')).toBe(true);
  });

  it('admin login: a signed session, 401 for a wrong password, 429 with Retry-After after repeated ones, all audited', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'correct horse battery',
      federation: small,
      limits: { adminLogin: { ...tight, globalBlocksEveryone: true } },
    });
    expect((await login(server.url, 'nope')).status).toBe(401);
    expect((await login(server.url, 'nope')).status).toBe(401);
    expect((await login(server.url, 'nope')).status).toBe(401);
    const limited = await login(server.url, 'correct horse battery');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const actions = server.store.auditEntries().map((e) => e.action);
    expect(actions.filter((a) => a === 'login-failed')).toHaveLength(3);
    expect(server.store.verifyAudit()).toEqual({ ok: true, entries: server.store.auditEntries().length });
    // Malformed bodies get a 400 and cost no guess.
    expect((await fetch(`${server.url}/api/admin/login`, { method: 'POST', body: '{' })).status).toBe(429);
  });

  it('admin sessions: a forged or missing session is refused; changing the password ends every session', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'first password!', federation: small });
    expect(await connectError(`${server.url}/admin`, { auth: { session: 'v1.99999999999999.abc.def' } })).toMatch(/admin session/);
    expect(await connectError(`${server.url}/admin`, { auth: {} })).toMatch(/admin session/);
    const session = await adminSession(server.url, 'first password!');
    const other: Socket = io(`${server.url}/admin`, { auth: { session }, transports: ['websocket'], forceNew: true, reconnection: false });
    await connected(other);
    const ended = new Promise<string>((resolve) => other.on('session-ended', (m: { reason: string }) => resolve(m.reason)));
    const admin: Socket = io(`${server.url}/admin`, { auth: { session }, transports: ['websocket'], forceNew: true, reconnection: false });
    await connected(admin);
    expect(await call<{ ok: boolean }>(admin, 'change-password', { current: 'wrong', next: 'a much longer one' })).toMatchObject({ ok: false });
    expect(await call<{ ok: boolean }>(admin, 'change-password', { current: 'first password!', next: 'short' })).toMatchObject({ ok: false });
    expect(await call<{ ok: boolean }>(admin, 'change-password', { current: 'first password!', next: 'a much longer one' })).toEqual({ ok: true });
    expect(await ended).toMatch(/password was changed/);
    expect(await connectError(`${server.url}/admin`, { auth: { session } })).toMatch(/admin session/);
    await expect(adminSession(server.url, 'first password!')).rejects.toThrow(/401/);
    await adminSession(server.url, 'a much longer one');
    admin.close();
    other.close();
  });

  it('refuses sockets opened from another site’s page; the server’s own origin and Node clients pass', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: small, allowedOrigins: ['https://fedward.example'] });
    const token = server.createToken('a');
    const evil = await connectError(server.url, { auth: { token }, extraHeaders: { origin: 'https://evil.example' } });
    expect(evil).toBeTruthy();
    for (const origin of [server.url, 'https://fedward.example', undefined]) {
      const s: Socket = io(server.url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, ...(origin && { extraHeaders: { origin } }) });
      await connected(s);
      s.close();
    }
  });

  it('answers every call, whatever its arguments; refuses 1-byte chunks and evaluations of past rounds', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { ...small, minClients: 1, rounds: 2 } });
    const s: Socket = io(server.url, { auth: { token: server.createToken('a') }, transports: ['websocket'], forceNew: true });
    await connected(s);
    // An extra argument before the ack, and a call with no payload at all: both answered.
    expect(await call<{ ok: boolean }>(s, 'update-end', { round: 1 }, 'extra')).toMatchObject({ ok: false });
    expect(await call<{ ok: boolean }>(s, 'evaluation')).toMatchObject({ ok: false });
    const started = new Promise<void>((ok) => s.once('round-start', () => ok()));
    expect(await call<{ ok: boolean }>(s, 'hello', { backend: 'cpu', trainSamples: 40, testSamples: 8 }, 'extra')).toMatchObject({ ok: true });
    await started;
    const payload = encodeWeights(server.coordinator.globalWeights);
    expect(await call<{ ok: boolean }>(s, 'update-begin', { round: 1, trainSamples: 40, trainLoss: 0.5, backend: 'cpu', totalBytes: payload.length })).toEqual({ ok: true });
    const tiny = await call<{ ok: boolean; error: { message: string } }>(s, 'update-chunk', { round: 1, index: 0, data: payload.subarray(0, 1) });
    expect(tiny.ok).toBe(false);
    expect(tiny.error.message).toMatch(/1 bytes; \d+ were expected/);
    // Round 0's model is the latest: an evaluation of a later or earlier round is refused; more slices than announced too.
    expect(await call<{ ok: boolean }>(s, 'evaluation', { round: 0, testSamples: 8, accuracy: 0.5, loss: 0.7 })).toEqual({ ok: true });
    expect(await call<{ ok: boolean }>(s, 'evaluation', { round: 1, testSamples: 8, accuracy: 0.5, loss: 0.7 })).toMatchObject({ ok: false });
    expect(await call<{ ok: boolean }>(s, 'evaluation', { round: 0, testSamples: 9000, accuracy: 1, loss: 0 })).toMatchObject({ ok: false });
    s.close();
    const admin: Socket = io(`${server.url}/admin`, { auth: { session: await adminSession(server.url, 'pw') }, transports: ['websocket'], forceNew: true });
    await connected(admin);
    expect(await call<{ ok: boolean }>(admin, 'create-token')).toMatchObject({ ok: false });
    expect(await call<{ ok: boolean }>(admin, 'skip-hospital', { hospital: 'nobody', skip: true }, 'extra')).toMatchObject({ ok: false });
    const view = await call<{ ok: true } & AuditView>(admin, 'audit-log', {});
    expect(view.verified).toMatchObject({ ok: true });
    expect(view.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['login', 'hospital-joined', 'round-started']));
    admin.close();
  });

  it('exports the audit log as CSV to a valid session only', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: small });
    expect((await fetch(`${server.url}/api/admin/audit.csv`)).status).toBe(401);
    const session = await adminSession(server.url, 'pw');
    const r = await fetch(`${server.url}/api/admin/audit.csv`, { headers: { authorization: `Bearer ${session}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/csv/);
    const csv = await r.text();
    expect(csv.split('\n')[0]).toMatch(/id.*at.*actor.*action.*detail.*hash/);
    expect(csv).toMatch(/login/);
  });
});
