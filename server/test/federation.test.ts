import { describe, expect, it } from 'vitest';
import { io as connect } from 'socket.io-client';
import { encodeWeights, type FederationSnapshot, type ProtocolError } from '@fedward/protocol';
import { adminSession, client, runToEnd, serverPerTest, tempDb } from './helpers';

const SIZE = 16;
const small = {
  rounds: 2,
  minClients: 3,
  model: { inputSize: SIZE },
  training: { epochs: 3, batchSize: 8, learningRate: 0.01 },
};

const servers = serverPerTest();

describe('federation over a real Socket.io server', () => {
  it('runs two FedAvg rounds with three Node hospitals and stores everything', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: small });
    const names = ['north', 'south', 'east'];
    const profiles = [{ gain: 1, noise: 0.15 }, { gain: 0.8, noise: 0.2 }, { gain: 1.2, noise: 0.1 }];
    const runs = await Promise.all(
      names.map((name, i) => runToEnd(client(server.url, server.createToken(name), SIZE, 10 * i + 1, { profile: profiles[i] }))),
    );
    for (const events of runs) {
      expect(events.filter((e) => e.type === 'uploaded').map((e) => (e as { round: number }).round)).toEqual([1, 2]);
      expect(events.at(-1)).toEqual({ type: 'federation-done', round: 2 });
      const batches = events.filter((e) => e.type === 'batch');
      expect(batches.length).toBe(2 * 3 * Math.ceil(40 / 8));
    }
    const rounds = server.store.rounds(server.config.id);
    expect(rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(rounds.map((r) => r.participants.length)).toEqual([3, 3]);
    const snapshot = server.coordinator.snapshot([]);
    expect(snapshot.phase).toBe('done');
    const finalRound = snapshot.rounds.find((r) => r.round === 2)!;
    expect(finalRound.evaluations).toHaveLength(3);
    // Round-2 global model on the hospitals' own held-out slices: chance is 0.5.
    expect(finalRound.accuracy!).toBeGreaterThan(0.7);
  }, 180_000);

  it('refuses a socket without a valid enrolment token, and the admin namespace without the password', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'right', federation: small });
    const refused = await new Promise<string>((resolve) => {
      const s = connect(server.url, { auth: { token: 'fwd_made_up' }, transports: ['websocket'], reconnection: false });
      s.on('connect_error', (e) => {
        s.close();
        resolve(e.message);
      });
    });
    expect(refused).toMatch(/enrolment token/);
    await expect(adminSession(server.url, 'wrong')).rejects.toThrow(/401.*wrong admin password/);
    const adminRefused = await new Promise<string>((resolve) => {
      // The password itself no longer opens the admin socket: only a signed session does.
      const s = connect(server.url + '/admin', { auth: { password: 'right' }, transports: ['websocket'], reconnection: false });
      s.on('connect_error', (e) => {
        s.close();
        resolve(e.message);
      });
    });
    expect(adminRefused).toMatch(/admin session/);
    const session = await adminSession(server.url, 'right');
    const snapshot = await new Promise<FederationSnapshot>((resolve) => {
      const s = connect(server.url + '/admin', { auth: { session }, transports: ['websocket'], reconnection: false });
      s.on('snapshot', (snap) => {
        s.close();
        resolve(snap);
      });
    });
    expect(snapshot.config.rounds).toBe(2);
  });

  it('rejects malformed, mis-shaped, NaN and oversized updates by name; the round goes on', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { ...small, rounds: 1, minClients: 4, minUpdates: 3 } });
    const good = ['a', 'b', 'c'].map((n, i) => runToEnd(client(server.url, server.createToken(n), SIZE, i + 1)));
    // minClients 4: the round waits for the rogue and the honest three; minUpdates 3 lets it finish without the rogue.
    const rogue = connect(server.url, { auth: { token: server.createToken('rogue') }, transports: ['websocket'] });
    const errors: ProtocolError[] = [];
    rogue.on('protocol-error', (e: ProtocolError) => errors.push(e));
    const ask = <T,>(event: string, payload: unknown) =>
      new Promise<T>((resolve) => rogue.emit(event, payload, (r: T) => resolve(r)));
    // Listen before saying hello: the round may start the moment the rogue's hello arrives.
    const roundStarted = new Promise<number>((resolve) => rogue.once('round-start', (m: { round: number }) => resolve(m.round)));
    await ask('hello', { backend: 'cpu', trainSamples: 10, testSamples: 0 });
    expect(await roundStarted).toBe(1);

    const weights = server.coordinator.globalWeights.map((t) => ({ ...t, values: t.values.slice() }));
    const begin = (bytes: Uint8Array) => ({ round: 1, trainSamples: 10, trainLoss: 0.5, backend: 'cpu', totalBytes: bytes.length });

    // 1. wrong schema
    await ask('update-begin', { round: 'one' });
    // 2. over the size limit
    await ask('update-begin', { ...begin(new Uint8Array(8)), totalBytes: 10 ** 12 });
    expect(errors.map((e) => e.code)).toEqual(['bad-message', 'too-large']);
    expect(errors[0]!.message).toMatch(/round/);
    expect(errors[1]!.message).toMatch(/over the limit/);
    // The oversized update put the rogue out of this round; a later update is refused as such.
    const nan = weights.map((t) => ({ ...t, values: t.values.slice() }));
    nan[2]!.values[3] = Number.NaN;
    const r = await ask<{ ok: boolean; error: ProtocolError }>('update-begin', begin(encodeWeights(nan)));
    expect(r.error.code).toBe('not-participant');

    const all = await Promise.all(good);
    for (const events of all) expect(events.at(-1)).toEqual({ type: 'federation-done', round: 1 });
    expect(server.store.rounds(server.config.id)[0]!.participants.map((p) => p.hospital)).toEqual(['a', 'b', 'c']);
    rogue.close();
  }, 120_000);

  it('names the bad tensor in a NaN update and a wrong tensor count', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { ...small, rounds: 1, minClients: 2 } });
    const errors: ProtocolError[] = [];
    const sockets = ['x', 'y'].map((name) => {
      const s = connect(server.url, { auth: { token: server.createToken(name) }, transports: ['websocket'] });
      s.on('protocol-error', (e: ProtocolError) => errors.push(e));
      return s;
    });
    const ask = <T,>(s: (typeof sockets)[number], event: string, payload: unknown) =>
      new Promise<T>((resolve) => s.emit(event, payload, (r: T) => resolve(r)));
    const started = sockets.map((s) => new Promise((resolve) => s.once('round-start', resolve)));
    for (const s of sockets) await ask(s, 'hello', { backend: 'cpu', trainSamples: 10, testSamples: 0 });
    await Promise.all(started);
    const weights = server.coordinator.globalWeights.map((t) => ({ ...t, values: t.values.slice() }));
    const upload = async (s: (typeof sockets)[number], bytes: Uint8Array) => {
      await ask(s, 'update-begin', { round: 1, trainSamples: 10, trainLoss: 0.5, backend: 'cpu', totalBytes: bytes.length });
      await ask(s, 'update-chunk', { round: 1, index: 0, data: bytes });
      return ask<{ ok: boolean }>(s, 'update-end', { round: 1 });
    };
    const nan = weights.map((t) => ({ ...t, values: t.values.slice() }));
    nan[4]!.values[11] = Number.NaN;
    expect((await upload(sockets[0]!, encodeWeights(nan))).ok).toBe(false);
    expect(errors.at(-1)!.message).toMatch(/logits\/kernel.*non-finite.*index 11/);
    // A payload with the right byte length but a tensor missing is caught by the model check.
    const fewer = encodeWeights(weights.slice(0, -1));
    await ask(sockets[1]!, 'update-begin', { round: 1, trainSamples: 10, trainLoss: 0.5, backend: 'cpu', totalBytes: fewer.length });
    expect(errors.at(-1)!.message).toMatch(/does not match the model/);
    sockets.forEach((s) => s.close());
  });
});
