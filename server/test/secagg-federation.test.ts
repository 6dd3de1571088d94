import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { toUint8Array, type FederationSnapshot } from '@fedward/protocol';
import { fromRing } from '@fedward/secagg';
import type { ClientEvent, SecAggTestHooks } from '@fedward/client';
import { DpAggregator } from '../src/dp/aggregator';
import { client, patientData, runToEnd, serverPerTest, tempDb } from './helpers';

const servers = serverPerTest();

const privacy = { noiseMultiplier: 1, clipNorm: 0.5, targetEpsilon: 1e6, delta: 1e-5, unit: 'hospital' as const, accountant: 'rdp' as const, virtualClients: 2 };
const training = { epochs: 1, batchSize: 8, learningRate: 0.01 };

/** Pearson correlation of two equally long vectors. */
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let k = 0; k < n; k++) {
    ma += a[k]! / n;
    mb += b[k]! / n;
  }
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < n; k++) {
    ab += (a[k]! - ma) * (b[k]! - mb);
    aa += (a[k]! - ma) ** 2;
    bb += (b[k]! - mb) ** 2;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Whether `needle` occurs in `hay` as a contiguous byte run. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('secure aggregation on the real server (Node hospitals over Socket.io)', () => {
  it('the server receives and stores nothing like one hospital\u2019s input, and unmasks exactly the sum', async () => {
    const dbPath = tempDb();
    const server = await servers.start({
      dbPath,
      port: 0,
      adminPassword: 'pw',
      federation: { rounds: 2, minClients: 4, model: { inputSize: 16 }, training, privacy, secureAggregation: { threshold: 3, stageTimeoutMs: 20_000 } },
    });
    // What the server's handlers receive, binary kept whole.
    const received: { event: string; bytes: Uint8Array[] }[] = [];
    const binaries = (v: unknown): Uint8Array[] =>
      v instanceof Uint8Array || v instanceof ArrayBuffer ? [toUint8Array(v).slice()] : Array.isArray(v) ? v.flatMap(binaries) : typeof v === 'object' && v !== null ? Object.values(v).flatMap(binaries) : [];
    const c = server.coordinator as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of ['hello', 'beginUpdate', 'addChunk', 'endUpdate', 'evaluation', 'secaggKeys', 'secaggShares', 'secaggReveal', 'status']) {
      const original = c[method]!.bind(server.coordinator);
      c[method] = (link: unknown, msg: unknown) => {
        received.push({ event: method, bytes: binaries(msg) });
        return original(link, msg);
      };
    }
    // The one place the unmasked sum enters aggregation (it calls through).
    const addSum = vi.spyOn(DpAggregator.prototype, 'addSum');
    const inputs = new Map<string, Map<number, Uint32Array>>();
    const names = ['h1', 'h2', 'h3', 'h4'];
    const runs = await Promise.all(
      names.map((name, i) => {
        const own = new Map<number, Uint32Array>();
        inputs.set(name, own);
        const hooks: SecAggTestHooks = { inspect: (round, input) => own.set(round, input) };
        return runToEnd(client(server.url, server.createToken(name), 16, 80 + i, { train: patientData(16, 40, 80 + i), secaggTest: hooks }));
      }),
    );
    // The unmasked sums are exactly the sums of the hospitals' plain inputs, bit for bit.
    expect(addSum.mock.calls).toHaveLength(2);
    addSum.mock.calls.forEach(([flat, updates], k) => {
      const expected = new Float64Array(flat.length);
      for (const rounds of inputs.values()) fromRing(rounds.get(k + 1)!).forEach((v, i) => (expected[i]! += v));
      expect(updates).toBe(8);
      expect(flat).toEqual(expected);
    });
    addSum.mockRestore();
    const snap: FederationSnapshot = server.coordinator.snapshot([]);
    expect(snap.rounds.map((r) => r.round)).toEqual([1, 2]);
    for (const r of snap.rounds) expect(r.dp!.updates).toBe(4 * 2);
    expect(snap.secagg).toMatchObject({ threshold: 3, stage: 'done', participants: 4, dropped: [], summed: 4 });
    // Every hospital was told, with the round's result, that only the sum was unmasked.
    for (const events of runs) {
      const results = events.filter((e): e is Extract<ClientEvent, { type: 'round-result' }> => e.type === 'round-result');
      expect(results.map((r) => r.secagg?.stage)).toEqual(['done', 'done']);
      expect(events.filter((e) => e.type === 'secagg').map((e) => (e as { stage: string }).stage)).toEqual(['advertise', 'share', 'mask', 'reveal', 'advertise', 'share', 'mask', 'reveal']);
    }

    // Each hospital's plain input (its clipped, encoded sum) never reached the server: no masked
    // upload correlates with it, and no 32-byte run of it is in any message or in the database file.
    const uploads: Uint8Array[] = [];
    let current: Uint8Array[] = [];
    for (const r of received) {
      if (r.event === 'beginUpdate') current = [];
      if (r.event === 'addChunk') current.push(...r.bytes);
      if (r.event === 'endUpdate') {
        const whole = new Uint8Array(current.reduce((n, b) => n + b.length, 0));
        let at = 0;
        for (const b of current) {
          whole.set(b, at);
          at += b.length;
        }
        uploads.push(whole);
      }
    }
    expect(uploads).toHaveLength(8);
    const database = readFileSync(dbPath);
    const everything = received.flatMap((r) => r.bytes);
    for (const [name, rounds] of inputs) {
      expect([...rounds.keys()]).toEqual([1, 2]);
      for (const input of rounds.values()) {
        const x = fromRing(input);
        for (const upload of uploads) {
          const y = fromRing(new Uint32Array(upload.buffer, upload.byteOffset, upload.byteLength / 4));
          expect(Math.abs(correlation(x, y)), `${name}'s input against an upload`).toBeLessThan(0.1);
        }
        const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
        // A run from the middle of the vector (zeros at its ends would match anything).
        const probe = bytes.subarray(Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 32);
        expect(everything.some((b) => contains(b, probe)), `${name}'s input in a message`).toBe(false);
        expect(contains(database, probe), `${name}'s input in the database`).toBe(false);
      }
    }
  }, 300_000);

  it('completes with dropouts at each stage after the keys, fails cleanly below the threshold and runs the round again', async () => {
    const server = await servers.start({
      dbPath: tempDb(),
      port: 0,
      adminPassword: 'pw',
      federation: { rounds: 5, minClients: 5, model: { inputSize: 16 }, training, privacy, secureAggregation: { threshold: 3, stageTimeoutMs: 1_000 } },
    });
    // Silent dropouts (no answer; the stage's 1 s timeout drops them): round 2 at the shares,
    // round 3 at the masked upload, round 4 at the reveal, round 5 three at the masked upload.
    const drops: Record<string, SecAggTestHooks['drop'][]> = {
      h1: [{ round: 2, at: 'share', how: 'silent' }, { round: 5, at: 'mask', how: 'silent' }],
      h2: [{ round: 3, at: 'mask', how: 'silent' }, { round: 5, at: 'mask', how: 'silent' }],
      h3: [{ round: 4, at: 'reveal', how: 'silent' }, { round: 5, at: 'mask', how: 'silent' }],
    };
    await Promise.all(
      ['h1', 'h2', 'h3', 'h4', 'h5'].map((name, i) => {
        const planned = [...(drops[name] ?? [])];
        // One drop at a time: the hook takes the next once the last has fired.
        const hooks: SecAggTestHooks = {};
        const arm = () => {
          const next = planned.shift();
          if (next) hooks.drop = next;
        };
        arm();
        hooks.inspect = () => {
          if (!hooks.drop) arm();
        };
        return runToEnd(client(server.url, server.createToken(name), 16, 90 + i, { train: patientData(16, 40, 90 + i), secaggTest: hooks }));
      }),
    );
    const snap: FederationSnapshot = server.coordinator.snapshot([]);
    expect(snap.rounds.map((r) => r.round)).toEqual([1, 2, 3, 4, 5]);
    // Two updates per hospital whose masked input is in the sum: a hospital that uploaded and then
    // did not reveal (round 4) is still in it; one that dropped before uploading is not.
    expect(snap.rounds.map((r) => r.dp!.updates)).toEqual([10, 8, 8, 10, 10]);
    expect(snap.rounds.map((r) => r.participants.length)).toEqual([5, 4, 4, 5, 5]);
    const log = snap.log.map((e) => e.message);
    expect(log).toContainEqual(expect.stringMatching(/round 5 failed: secure aggregation failed at stage "mask": 2 of 5 participants uploaded their masked inputs .*the threshold is 3; running it again/));
    expect(log.filter((m) => /failed: secure aggregation/.test(m))).toHaveLength(1);
    // The ledger counts what was summed: ε after round 5 is that of five released rounds.
    expect(snap.rounds.every((r) => r.dp!.epsilon !== null)).toBe(true);
  }, 300_000);
});

