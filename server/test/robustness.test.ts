import { request as httpRequest } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { encodeWeights } from '@fedward/protocol';
import { adminSession, serverPerTest, tempDb } from './helpers';

/** Hostile input (issue 13, first part): nothing a client sends may take the server down. */

const servers = serverPerTest();

/** One raw GET on 127.0.0.1 with the path exactly as given (no client-side normalising). */
function rawGet(url: string, path: string): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: Number(port), path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const call = <T>(s: Socket, event: string, body: unknown) => new Promise<T>((resolve) => s.emit(event, body, (r: T) => resolve(r)));
const connected = (s: Socket) => new Promise<void>((ok, fail) => {
  s.on('connect', () => ok());
  s.on('connect_error', (e) => fail(e));
});

describe('hostile input', () => {
  it('answers malformed paths with an error status and stays up', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { model: { inputSize: 16 } } });
    const paths = ['/%', '/%ff', '/admin/%', '/admin/%zz', '/%E0%A4%A', '/%00', '/a%00b', '/..%2f..%2fetc%2fpasswd', '/admin/..%2f..%2fpackage.json', '//', '/%%', '/%2', '/admin/%c0%af', '/?%', '/#%'];
    for (const path of paths) {
      const status = await rawGet(server.url, path);
      expect([200, 400, 403, 404, 503], `GET ${path} → ${status}`).toContain(status);
    }
    expect(await rawGet(server.url, '/%')).toBe(400);
    expect(await rawGet(server.url, '/healthz')).toBe(200);
  }, 60_000);

  it('sends security headers on every answer: CSP without inline script, nosniff, no referrer, no framing', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { model: { inputSize: 16 } } });
    for (const path of ['/', '/admin/', '/healthz', '/%', '/nothing-here']) {
      const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        const { port } = new URL(server.url);
        httpRequest({ host: '127.0.0.1', port: Number(port), path }, (res) => {
          res.resume();
          resolve(res.headers);
        })
          .on('error', reject)
          .end();
      });
      const csp = String(headers['content-security-policy']);
      expect(csp, path).toMatch(/script-src 'self' 'wasm-unsafe-eval' blob:/);
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('refuses huge counts and losses by name at the boundary; the round still completes', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'pw',
      federation: { rounds: 1, minClients: 1, model: { inputSize: 16 }, training: { epochs: 1, batchSize: 8, learningRate: 0.01 }, privacy: { noiseMultiplier: 1, clipNorm: 1, targetEpsilon: 1e6, delta: 1e-5, unit: 'hospital', accountant: 'rdp', virtualClients: 2 } },
    });
    const s: Socket = io(server.url, { auth: { token: server.createToken('rogue') }, transports: ['websocket'] });
    const started = new Promise<{ virtualClients: number }>((resolve) => s.on('round-start', resolve));
    await connected(s);
    const refusedHello = await call<{ ok: boolean; error: { message: string } }>(s, 'hello', { backend: 'cpu', trainSamples: 1e308, testSamples: 8 });
    expect(refusedHello.error.message).toMatch(/trainSamples/);
    expect((await call<{ ok: boolean }>(s, 'hello', { backend: 'cpu', trainSamples: 40, testSamples: 8 })).ok).toBe(true);
    expect((await started).virtualClients).toBe(2);
    const payload = encodeWeights(server.coordinator.globalWeights);
    const begin = { round: 1, trainSamples: 20, backend: 'cpu', totalBytes: payload.length, subClients: 2, steps: 3 };
    for (const trainLoss of [1e308, -1e308]) {
      const r = await call<{ ok: boolean; error: { message: string } }>(s, 'update-begin', { ...begin, subClient: 0, trainLoss });
      expect(r.error.message).toMatch(/trainLoss/);
    }
    // The largest accepted losses, on both sub-clients, sum without overflow.
    for (const [subClient, trainLoss] of [[0, 1e6], [1, -1e6]] as const) {
      expect((await call<{ ok: boolean }>(s, 'update-begin', { ...begin, subClient, trainLoss })).ok).toBe(true);
      expect((await call<{ ok: boolean }>(s, 'update-chunk', { round: 1, index: 0, data: payload })).ok).toBe(true);
      expect((await call<{ ok: boolean }>(s, 'update-end', { round: 1 })).ok).toBe(true);
    }
    while (server.coordinator.phase !== 'done') await new Promise((r) => setTimeout(r, 20));
    expect(server.store.rounds(server.config.id)).toHaveLength(1);
    expect(await rawGet(server.url, '/healthz')).toBe(200);
    s.disconnect();
  }, 60_000);

  it('closes the connection of a token the admin revokes, and refuses it afterwards', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { rounds: 1, minClients: 2, model: { inputSize: 16 } } });
    const admin: Socket = io(`${server.url}/admin`, { auth: { session: await adminSession(server.url, 'pw') }, transports: ['websocket'] });
    await connected(admin);
    const token = server.createToken('leaver');
    // forceNew: its own connection, as a hospital's browser has (closing it must not close the admin's).
    const hospital: Socket = io(server.url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    await connected(hospital);
    expect((await call<{ ok: boolean }>(hospital, 'hello', { backend: 'cpu', trainSamples: 40, testSamples: 8 })).ok).toBe(true);
    const dropped = new Promise<string>((resolve) => hospital.on('disconnect', (reason) => resolve(reason)));
    const id = server.store.tokens(server.config.id).find((t) => t.hospital === 'leaver')!.id;
    expect((await call<{ ok: boolean }>(admin, 'revoke-token', { id })).ok).toBe(true);
    expect(await dropped).toBe('io server disconnect');
    expect(server.coordinator.snapshot([]).hospitals.filter((h) => h.connected)).toHaveLength(0);
    const again: Socket = io(server.url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    await expect(connected(again)).rejects.toThrow(/revoked/);
    admin.disconnect();
  }, 60_000);

  it('cancels a stalled upload: its hospital leaves the round, and the round goes on without waiting for the deadline', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'pw',
      federation: { rounds: 1, minClients: 2, minUpdates: 1, roundDeadlineMs: 600_000, uploadStallMs: 1_000, chunkBytes: 4096, model: { inputSize: 16 }, training: { epochs: 1, batchSize: 8, learningRate: 0.01 } },
    });
    const sockets = ['staller', 'honest'].map((h) => io(server.url, { auth: { token: server.createToken(h) }, transports: ['websocket'], forceNew: true }));
    const [staller, honest] = sockets as [Socket, Socket];
    const errors: { code: string; message: string }[] = [];
    staller.on('protocol-error', (e: { code: string; message: string }) => errors.push(e));
    const started = Promise.all(sockets.map((s) => new Promise((resolve) => s.on('round-start', resolve))));
    await Promise.all(sockets.map(connected));
    for (const s of sockets) expect((await call<{ ok: boolean }>(s, 'hello', { backend: 'cpu', trainSamples: 40, testSamples: 8 })).ok).toBe(true);
    await started;
    const payload = encodeWeights(server.coordinator.globalWeights);
    const begin = { round: 1, trainSamples: 40, trainLoss: 0.5, backend: 'cpu', totalBytes: payload.length };
    // The staller starts its upload, sends one chunk, then nothing.
    expect((await call<{ ok: boolean }>(staller, 'update-begin', begin)).ok).toBe(true);
    expect((await call<{ ok: boolean }>(staller, 'update-chunk', { round: 1, index: 0, data: payload.subarray(0, 4096) })).ok).toBe(true);
    expect((await call<{ ok: boolean }>(honest, 'update-begin', begin)).ok).toBe(true);
    for (let index = 0, at = 0; at < payload.length; index++, at += 4096) {
      expect((await call<{ ok: boolean }>(honest, 'update-chunk', { round: 1, index, data: payload.subarray(at, at + 4096) })).ok).toBe(true);
    }
    expect((await call<{ ok: boolean }>(honest, 'update-end', { round: 1 })).ok).toBe(true);
    const t0 = Date.now();
    while (server.coordinator.phase !== 'done') await new Promise((r) => setTimeout(r, 20));
    // About the stall limit, not the 10-minute deadline.
    expect(Date.now() - t0).toBeLessThan(30_000);
    // The refusal is on its way to the staller when the round closes: wait for it, not for a fixed time.
    while (!errors.some((e) => e.code === 'timeout')) await new Promise((r) => setTimeout(r, 20));
    expect(server.store.rounds(server.config.id)[0]!.participants.map((p) => p.hospital)).toEqual(['honest']);
    sockets.forEach((s) => s.disconnect());
  }, 60_000);

  it('escapes control characters so a client cannot forge a log line', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { model: { inputSize: 16 } } });
    server.coordinator.warn('tensor "a\n[info] round 9 aggregated" rejected');
    const last = server.coordinator.snapshot([]).log.at(-1)!;
    expect(last.message).not.toContain('\n');
    expect(last.message).toContain('\\n[info] round 9');
  });
});
