import { io, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import type { ClientEvent } from '@fedward/client';
import type { Coordinator } from '../src/coordinator';
import { cutProxy } from './cut-proxy';
import { client, serverPerTest, tempDb } from './helpers';

/**
 * Round liveness (issue 13): a hospital cut off at any step comes back at the next round; one
 * that leaves does not hold the others up; a silent one backs off instead of stalling every round.
 */

const servers = serverPerTest();

const federation = {
  rounds: 2,
  minClients: 2,
  minUpdates: 1,
  roundDeadlineMs: 600_000,
  model: { inputSize: 16 },
  training: { epochs: 1, batchSize: 8, learningRate: 0.01 },
};

async function until(check: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type CutPoint = 'hello' | 'beginUpdate' | 'addChunk' | 'evaluation';

/** Makes the coordinator's first call of `method` from `hospital` cut that hospital's connections first. */
function cutOnFirst(coordinator: Coordinator, method: CutPoint, cut: () => void): () => boolean {
  let done = false;
  const original = coordinator[method].bind(coordinator) as (...a: unknown[]) => unknown;
  (coordinator as unknown as Record<string, unknown>)[method] = (link: { id: string }, ...rest: unknown[]) => {
    if (!done && linkIsHospital(coordinator, link.id, 'cut-off')) {
      done = true;
      cut();
    }
    return original(link, ...rest);
  };
  return () => done;
}

function linkIsHospital(coordinator: Coordinator, linkId: string, hospital: string): boolean {
  const connected = (coordinator as unknown as { connected: Map<string, { hospital: string }> }).connected;
  return connected.get(linkId)?.hospital === hospital;
}

describe('round liveness', () => {
  for (const point of ['hello', 'beginUpdate', 'addChunk', 'evaluation'] as const) {
    it(`a hospital cut off at ${point} rejoins and trains in the next round`, async () => {
      const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation });
      const proxy = await cutProxy(server.url);
      const cutDone = cutOnFirst(server.coordinator, point, () => proxy.cutAll());
      const steadyEvents: ClientEvent[] = [];
      const cutEvents: ClientEvent[] = [];
      const run = async (events: AsyncGenerator<ClientEvent, void>, seen: ClientEvent[]) => {
        for await (const e of events) seen.push(e);
      };
      await Promise.all([
        run(client(server.url, server.createToken('steady'), 16, 1), steadyEvents),
        run(client(proxy.url, server.createToken('cut-off'), 16, 2), cutEvents),
      ]);
      await proxy.close();
      expect(cutDone()).toBe(true);
      expect(proxy.cuts).toBeGreaterThan(0);
      expect(cutEvents.some((e) => e.type === 'disconnected')).toBe(true);
      const rounds = server.store.rounds(server.config.id);
      expect(rounds.map((r) => r.round)).toEqual([1, 2]);
      // Back at the latest at the round after the cut.
      expect(rounds[1]!.participants.map((p) => p.hospital).sort()).toEqual(['cut-off', 'steady']);
      expect(cutEvents.filter((e) => e.type === 'federation-done')).toHaveLength(1);
      if (point === 'evaluation') {
        // It evaluated round 1's model again after reconnecting.
        expect(server.store.evaluations(server.config.id).some((e) => e.round === 1 && e.hospital === 'cut-off')).toBe(true);
      }
    }, 120_000);
  }

  it('a hospital that leaves mid-round does not hold the round up: it aggregates as soon as the others uploaded', async () => {
    const server = await servers.start({ dbPath: tempDb(), port: 0, adminPassword: 'pw', federation: { ...federation, rounds: 1, minClients: 2 } });
    const leaver: Socket = io(server.url, { auth: { token: server.createToken('leaver') }, transports: ['websocket'], forceNew: true });
    const hello = (s: Socket) => new Promise((ok) => s.emit('hello', { backend: 'cpu', trainSamples: 40, testSamples: 24 }, ok));
    const events: ClientEvent[] = [];
    const steady = (async () => {
      for await (const e of client(server.url, server.createToken('steady'), 16, 1)) {
        events.push(e);
      }
    })();
    leaver.on('round-start', () => leaver.disconnect());
    await new Promise((ok) => leaver.on('connect', ok as () => void));
    await hello(leaver);
    const t0 = Date.now();
    await steady;
    // Far from the 10-minute deadline: the leaver was dropped at once.
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(server.store.rounds(server.config.id)[0]!.participants.map((p) => p.hospital)).toEqual(['steady']);
  }, 120_000);

  it('a silent hospital backs off after the deadline; the round reruns without it; the admin sees why', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'pw',
      federation: { ...federation, rounds: 1, minClients: 1, minUpdates: 2, roundDeadlineMs: 1_000 },
    });
    const silent: Socket = io(server.url, { auth: { token: server.createToken('silent') }, transports: ['websocket'], forceNew: true });
    let starts = 0;
    silent.on('round-start', () => (starts += 1));
    await new Promise((ok) => silent.on('connect', ok as () => void));
    await new Promise((ok) => silent.emit('hello', { backend: 'cpu', trainSamples: 40, testSamples: 24 }, ok));
    await until(() => starts === 1, 'round 1 to start');
    // The deadline passes without an update: it backs off, so round 1 is not re-run at once with it.
    await until(() => server.coordinator.snapshot([]).hospitals[0]?.state === 'backing-off', 'the back-off');
    const view = server.coordinator.snapshot([]).hospitals[0]!;
    expect(view.note).toMatch(/did not finish its upload for round 1 before the deadline/);
    expect(view.until! - Date.now()).toBeGreaterThan(20_000);
    expect(server.coordinator.phase).toBe('waiting');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(starts).toBe(1);
    // The admin lets it back in: the round starts again.
    expect(server.coordinator.skipHospital('silent', false).ok).toBe(true);
    await until(() => starts === 2, 'round 1 to start again');
    silent.disconnect();
  }, 60_000);

  it('the admin can end a stuck round: it aggregates what arrived, and the silent hospital backs off', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'pw',
      federation: { ...federation, rounds: 2, minClients: 2, minUpdates: 1 },
    });
    const silent: Socket = io(server.url, { auth: { token: server.createToken('silent') }, transports: ['websocket'], forceNew: true });
    await new Promise((ok) => silent.on('connect', ok as () => void));
    await new Promise((ok) => silent.emit('hello', { backend: 'cpu', trainSamples: 40, testSamples: 24 }, ok));
    const stop = new AbortController();
    const steady = (async () => {
      for await (const _ of client(server.url, server.createToken('steady'), 16, 1, { signal: stop.signal }));
    })();
    await until(() => server.coordinator.snapshot([]).hospitals.find((h) => h.name === 'steady')?.state === 'uploaded', 'steady to upload');
    expect(server.coordinator.endRound(2).ok).toBe(false);
    const ended = server.coordinator.endRound(1);
    expect(ended).toEqual({ ok: true, outcome: 'aggregated' });
    // Round 2 needs minClients = 2, and the silent hospital is backing off: it waits, it does not start with it.
    await until(() => server.store.rounds(server.config.id).length === 1, 'round 1 stored');
    expect(server.coordinator.snapshot([]).hospitals.find((h) => h.name === 'silent')?.state).toBe('backing-off');
    expect(server.coordinator.phase).toBe('waiting');
    silent.disconnect();
    stop.abort();
    await steady;
  }, 120_000);
});
