import { describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { ParticipantError, type SentMessage } from '@fedward/client';
import { canonicalJson, type StudySettings, type StudySummary } from '@fedward/protocol';
import { calibrateNoise, epsilonAt } from '../src/calibrate-noise';
import type { ReceivedMessage } from '../src';
import { adminSession, client, runToEnd, serverPerTest, tempDb } from './helpers';

const servers = serverPerTest();
const PASSWORD = 'studies-admin-password';

const SETTINGS: StudySettings = {
  name: 'Second study',
  rounds: 2,
  minClients: 2,
  roundDeadlineMs: 60_000,
  model: { kind: 'small-cnn', inputSize: 16, numClasses: 2 },
  training: { epochs: 1, batchSize: 8, learningRate: 0.01, optimizer: 'adam' },
  aggregation: 'fedavg',
  personalization: 'fedavg',
  privacy: { unit: 'patient', targetEpsilon: 20, delta: 1e-5, clipNorm: 1, virtualClients: 1 },
};

function adminSocket(url: string, session: string): Promise<Socket> {
  return new Promise((ok, fail) => {
    const s = io(`${url}/admin`, { auth: { session }, transports: ['websocket'] });
    s.once('connect', () => ok(s));
    s.once('connect_error', fail);
  });
}

const ask = <T = Record<string, unknown>>(s: Socket, event: string, msg: unknown): Promise<{ ok: boolean; error?: { message: string } } & T> =>
  new Promise((ok) => s.emit(event, msg, ok));

async function studiesFor(url: string, token: string) {
  const r = await fetch(`${url}/api/studies`, { headers: { authorization: `Bearer ${token}` } });
  return (await r.json()) as { hospital: string; studies: (StudySummary & { planDigest: string })[] };
}

describe('studies', () => {
  it('calibrates the smallest z that keeps ε within the target over all rounds', () => {
    const privacy = { unit: 'patient', targetEpsilon: 4, delta: 1e-5, clipNorm: 1, accountant: 'rdp', virtualClients: 2 } as const;
    const c = calibrateNoise(privacy, 10, 5000, 3);
    expect(c.epsilon.patient).toBeLessThanOrEqual(4);
    // 1 % less noise would overspend: the answer is the smallest, not just a safe one.
    expect(epsilonAt(privacy, c.noiseMultiplier * 0.99, 10, 5000, 3).patient).toBeGreaterThan(4);
    expect(() => calibrateNoise({ ...privacy, targetEpsilon: 1e-4 }, 1000, 5000, 3)).toThrow(/needs z above/);
    expect(() => calibrateNoise({ ...privacy, virtualClients: 'adaptive' }, 10, 5000, 3)).toThrow(/adaptive/);
  });

  it('creates a study with secure aggregation from the form settings, and refuses a threshold above the minimum hospitals', async () => {
    const server = await servers.start({ dbPath: tempDb(), adminPassword: PASSWORD, federation: { id: 'first', name: 'First study', model: { inputSize: 16 } } });
    const admin = await adminSocket(server.url, await adminSession(server.url, PASSWORD));
    const withSecagg = { ...SETTINGS, name: 'Masked study', minClients: 3, privacy: { ...SETTINGS.privacy!, noiseMultiplier: 1, secureAggregationThreshold: 2 } };
    const created = await ask<{ id: string }>(admin, 'create-study', { settings: withSecagg });
    expect(created.ok).toBe(true);
    const study = server.studies.get(created.id)!;
    expect(study.config.secureAggregation).toEqual({ threshold: 2 });
    // The plan hospitals accept says so, and lists the secure aggregation messages.
    expect(study.plan.secureAggregation).toEqual({ threshold: 2 });
    expect(study.plan.sends.map((m) => m.message)).toContain('secagg-reveal');
    const tooHigh = await ask(admin, 'create-study', { settings: { ...withSecagg, name: 'Too high', privacy: { ...withSecagg.privacy, secureAggregationThreshold: 4 } } });
    expect(tooHigh.ok).toBe(false);
    expect(tooHigh.error!.message).toMatch(/threshold must be at most the hospitals a round starts with/);
    admin.disconnect();
  });

  it('runs two studies at once; each hospital sees and joins only its studies; a changed plan needs a new acceptance', async () => {
    const received: ReceivedMessage[] = [];
    const server = await servers.start({
      dbPath: tempDb(),
      adminPassword: PASSWORD,
      federation: { id: 'first', name: 'First study', rounds: 2, minClients: 2, model: { inputSize: 16 }, training: { epochs: 1, batchSize: 8 } },
      recordReceived: (e) => received.push(e),
    });
    const admin = await adminSocket(server.url, await adminSession(server.url, PASSWORD));
    const tokens = { a: server.createToken('hospital-a'), b: server.createToken('hospital-b'), c: server.createToken('hospital-c') };

    // A second study from the admin's settings: a draft, z calibrated for the target ε.
    const created = await ask<{ id: string; calibrated: { noiseMultiplier: number } }>(admin, 'create-study', { settings: SETTINGS });
    expect(created.ok).toBe(true);
    expect(created.id).toBe('second-study');
    expect(created.calibrated.noiseMultiplier).toBeGreaterThan(0);
    expect(server.studies.get('second-study')!.config.privacy!.noiseMultiplier).toBe(created.calibrated.noiseMultiplier);
    expect((await ask(admin, 'study-control', { study: 'second-study', action: 'start' })).error?.message).toMatch(/enrol at least one hospital/);

    // hospital-b and hospital-c join it with the tokens they have; hospital-a does not.
    expect((await ask(admin, 'enrol-hospital', { study: 'second-study', hospital: 'hospital-b', enrolled: true })).ok).toBe(true);
    expect((await ask(admin, 'enrol-hospital', { study: 'second-study', hospital: 'hospital-c', enrolled: true })).ok).toBe(true);
    expect((await ask(admin, 'enrol-hospital', { study: 'second-study', hospital: 'nobody', enrolled: true })).error?.message).toMatch(/no enrolment token/);
    // A draft is not open to hospitals yet.
    expect((await studiesFor(server.url, tokens.b)).studies.map((s) => s.id)).toEqual(['first']);
    expect((await ask(admin, 'study-control', { study: 'second-study', action: 'start' })).ok).toBe(true);

    const listA = await studiesFor(server.url, tokens.a);
    const listB = await studiesFor(server.url, tokens.b);
    expect(listA.studies.map((s) => s.id)).toEqual(['first']);
    expect(listB.studies.map((s) => s.id)).toEqual(['first', 'second-study']);
    const second = listB.studies.find((s) => s.id === 'second-study')!;

    // Without naming a study, a hospital in two studies is asked to choose.
    await expect(runToEnd(client(server.url, tokens.b, 16, 2))).rejects.toThrow(/several studies/);
    // A digest that is not the study's plan is refused.
    await expect(runToEnd(client(server.url, tokens.b, 16, 2, { study: 'second-study', planDigest: 'f'.repeat(64) }))).rejects.toThrow(ParticipantError);
    // hospital-a may not open a study it is not in.
    await expect(runToEnd(client(server.url, tokens.a, 16, 1, { study: 'second-study' }))).rejects.toThrow(/not enrolled/);

    const sent: Record<string, SentMessage[]> = { b: [], c: [] };
    const since = Date.now();
    const runs = [
      runToEnd(client(server.url, tokens.a, 16, 1, { study: 'first' })),
      runToEnd(client(server.url, tokens.c, 16, 3, { study: 'first' })),
      runToEnd(client(server.url, tokens.b, 16, 2, { study: 'second-study', planDigest: second.planDigest, onSent: (m) => sent.b!.push(m) })),
      runToEnd(client(server.url, tokens.c, 16, 4, { study: 'second-study', planDigest: second.planDigest, onSent: (m) => sent.c!.push(m) })),
    ];
    const [, , b] = await Promise.all(runs);
    expect(b!.at(-1)).toMatchObject({ type: 'federation-done', round: 2 });
    expect(server.store.rounds('first').length).toBe(2);
    expect(server.store.rounds('second-study').length).toBe(2);
    // The second study is DP: its rounds carry ε, and hospitals were told the budget spent.
    expect(server.store.rounds('second-study')[1]!.dp!.epsilon!.patient).toBeLessThanOrEqual(20);
    const last = b!.filter((e) => e.type === 'round-result').at(-1) as { privacy: { spent: { patient: number } } };
    expect(last.privacy.spent.patient).toBeGreaterThan(0);

    // Every message the server received from a hospital in that study is on its receipts, field
    // for field; a receipt without its server record can only be a last status sent as the
    // connection closed (it never arrived).
    const strip = (m: { message: string; fields: Record<string, unknown> }) => canonicalJson([m.message, m.fields]);
    for (const [who, hospital] of [['b', 'hospital-b'], ['c', 'hospital-c']] as const) {
      const onServer = received.filter((r) => r.study === 'second-study' && r.hospital === hospital && r.at >= since).map(strip);
      const receipts = sent[who]!.map(strip);
      const unmatched = [...receipts];
      for (const m of onServer) {
        const i = unmatched.indexOf(m);
        expect(i, `received but not on the receipts: ${m}`).toBeGreaterThanOrEqual(0);
        unmatched.splice(i, 1);
      }
      expect(unmatched.every((m) => m.startsWith('["status"')), unmatched.join('\n')).toBe(true);
      expect(unmatched.length).toBeLessThanOrEqual(1);
      expect(new Set(onServer.map((m) => JSON.parse(m)[0] as string))).toEqual(new Set(['hello', 'update-begin', 'update-chunk', 'update-end', 'evaluation', 'status']));
    }

    // Frozen after a round: privacy may not change, the name may.
    await ask(admin, 'study-control', { study: 'second-study', action: 'pause' }).catch(() => undefined);
    const status = server.studies.get('second-study')!.lifecycle;
    expect(status).toBe('paused');
    const changedPrivacy = await ask(admin, 'update-study', { study: 'second-study', settings: { ...SETTINGS, privacy: { ...SETTINGS.privacy!, targetEpsilon: 50 } } });
    expect(changedPrivacy.error?.message).toMatch(/frozen: privacy/);
    const renamed = await ask(admin, 'update-study', { study: 'second-study', settings: { ...SETTINGS, name: 'Second study (renamed)' } });
    expect(renamed.ok).toBe(true);
    expect(server.studies.get('second-study')!.config.name).toBe('Second study (renamed)');
    // The plan changed (its name is in it): the old digest no longer opens the study.
    expect((await studiesFor(server.url, tokens.b)).studies.find((s) => s.id === 'second-study')!.planDigest).not.toBe(second.planDigest);
    admin.close();
  });
});
