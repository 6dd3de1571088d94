import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent } from '@fedward/client';
import { activateBackend } from '@fedward/models';
import { decodeWeights, type NamedTensor } from '@fedward/protocol';
import { client, tempDb } from './helpers';

const here = dirname(fileURLToPath(import.meta.url));
const main = resolve(here, '../src/main.ts');


function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function launch(db: string, port: number, tokensFile: string, extra: string[] = ['--rounds', '2']): Promise<ChildProcess> {
  // node --import tsx (not the tsx wrapper) so that a kill reaches the server process itself.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', main, '--db', db, '--port', String(port), '--min-clients', '2', '--input-size', '16',
      '--epochs', '1', '--batch-size', '8', '--learning-rate', '0.01', '--enrol', 'left,right', '--tokens-file', tokensFile, ...extra],
    { env: { ...process.env, FEDWARD_ADMIN_PASSWORD: 'pw' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Admin dashboard')) ok(child);
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => fail(new Error(`server exited with ${code}: ${out}`)));
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sameWeights = (a: NamedTensor[], b: NamedTensor[]) =>
  a.length === b.length && a.every((t, i) => t.name === b[i]!.name && t.values.every((v, k) => v === b[i]!.values[k]));

beforeAll(async () => {
  await activateBackend(['cpu']);
});

describe('server restart', () => {
  it('continues at round 2 from round 1’s stored weights after a kill -9', async () => {
    const db = tempDb();
    const tokensFile = join(dirname(db), 'tokens.json');
    const port = await freePort();
    let server = await launch(db, port, tokensFile);
    const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>;

    const logs: NamedTensor[][][] = [[], []];
    const events: ClientEvent[][] = [[], []];
    const runs = ['left', 'right'].map(async (name, i) => {
      for await (const e of client(`http://127.0.0.1:${port}`, tokens[name]!, 16, i + 5, { log: logs[i] })) events[i]!.push(e);
    });

    const reader = () => new Database(db, { readonly: true, fileMustExist: true });
    await until(() => existsSync(db) && (reader().prepare('SELECT count(*) AS n FROM rounds WHERE round = 1').get() as { n: number }).n === 1, 'round 1');
    // Mark each client's event count before the kill: the disconnect can arrive before 'exit' does.
    const killedAt = events.map((e) => e.length);
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));

    server = await launch(db, port, tokensFile);
    await Promise.all(runs);
    server.kill('SIGTERM');

    const stored = reader();
    const rounds = stored.prepare('SELECT round, weights FROM rounds ORDER BY round').all() as { round: number; weights: Buffer }[];
    expect(rounds.map((r) => r.round)).toEqual([0, 1, 2]);
    const w1 = decodeWeights(rounds[1]!.weights);
    // The enrolment tokens survived the restart too (the clients reconnected with them).
    expect(Object.keys(JSON.parse(readFileSync(tokensFile, 'utf8')))).toEqual(['left', 'right']);

    for (let i = 0; i < 2; i++) {
      const seen = events[i]!;
      expect(seen.slice(killedAt[i]!).some((e) => e.type === 'disconnected')).toBe(true);
      // Round 1 is never redone; round 2 may have been under way at the kill, and then runs again.
      const uploads = seen.filter((e) => e.type === 'uploaded').map((e) => (e as { round: number }).round);
      expect(uploads.filter((r) => r === 1)).toEqual([1]);
      expect(uploads.at(-1)).toBe(2);
      // Each connected / round-start / round-result event set the model's weights once, in order:
      // find the round-2 start that came from the restarted server.
      let load = -1;
      let restartedRound2 = -1;
      seen.forEach((e, k) => {
        if (e.type === 'connected' || e.type === 'round-start' || e.type === 'round-result') load += 1;
        if (k >= killedAt[i]! && e.type === 'round-start' && e.round === 2) restartedRound2 = load;
      });
      expect(restartedRound2).toBeGreaterThan(0);
      expect(sameWeights(logs[i]![restartedRound2]!, w1)).toBe(true);
    }
  }, 240_000);

  it('loses no round and no ledger entry when killed -9 at random points of a DP federation', async () => {
    const db = tempDb();
    const tokensFile = join(dirname(db), 'tokens.json');
    const port = await freePort();
    const dp = ['--rounds', '4', '--dp-noise', '1', '--dp-clip', '1', '--dp-epsilon', '1000', '--dp-vn', '1'];
    let server = await launch(db, port, tokensFile, dp);
    const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>;
    const runs = ['left', 'right'].map(async (name, i) => {
      for await (const _ of client(`http://127.0.0.1:${port}`, tokens[name]!, 16, i + 5));
    });
    // Seeded, so a failure reproduces: kill after 0.2–4 s, three times, wherever the round is.
    let seed = 20261204;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const finished = () => {
      const r = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return (r.prepare('SELECT max(round) AS n FROM rounds').get() as { n: number }).n;
      } finally {
        r.close();
      }
    };
    const kills: number[] = [];
    for (let k = 0; k < 3 && finished() < 4; k++) {
      await new Promise((r) => setTimeout(r, 200 + next() * 3800));
      kills.push(finished());
      server.kill('SIGKILL');
      await new Promise((r) => server.once('exit', r));
      server = await launch(db, port, tokensFile, dp);
    }
    await Promise.all(runs);
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));

    const stored = new Database(db, { readonly: true, fileMustExist: true });
    const rows = stored.prepare('SELECT round, dp, ledger FROM rounds ORDER BY round').all() as { round: number; dp: string | null; ledger: string | null }[];
    stored.close();
    console.log(`killed -9 after rounds ${kills.join(', ')}; stored rounds ${rows.map((r) => r.round).join(', ')}`);
    expect(rows.map((r) => r.round)).toEqual([0, 1, 2, 3, 4]);
    // Every DP round has its release view and both ledgers, holding exactly one entry per round so far.
    for (const r of rows.slice(1)) {
      const ledgers = JSON.parse(r.ledger!) as { patient: { entries: unknown[] }; hospital: { entries: unknown[] } };
      expect(ledgers.patient.entries).toHaveLength(r.round);
      expect(ledgers.hospital.entries).toHaveLength(r.round);
      expect((JSON.parse(r.dp!) as { epsilon: { patient: number } }).epsilon.patient).toBeGreaterThan(0);
    }
    const eps = rows.slice(1).map((r) => (JSON.parse(r.dp!) as { epsilon: { hospital: number } }).epsilon.hospital);
    for (let i = 1; i < eps.length; i++) expect(eps[i]!).toBeGreaterThan(eps[i - 1]!);
  }, 300_000);
});
