import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FLAGS, parseCli } from '../src/cli-flags';
import { tempDb } from './helpers';

const main = resolve(dirname(fileURLToPath(import.meta.url)), '../src/main.ts');

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

const running: ChildProcess[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}, 30_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  child: ChildProcess;
}

/** Runs main.ts until it exits, or until it has printed its banner (then it keeps running). */
function fedward(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    env: { ...process.env, FEDWARD_ADMIN_PASSWORD: 'pw', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const run: Run = { code: null, stdout: '', stderr: '', child };
  return new Promise((ok) => {
    child.stdout!.on('data', (d: Buffer) => {
      run.stdout += d.toString();
      if (/^─+\n[\s\S]*^─+$/m.test(run.stdout)) ok(run);
    });
    child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
    child.once('exit', (code) => ok({ ...run, code }));
  });
}

/** What fedward itself said on stderr (TF.js may print a banner of its own there), and that there is no stack trace. */
function said(run: Run): string[] {
  expect(run.stderr).not.toMatch(/^\s+at /m);
  return run.stderr.split('\n').filter((l) => l.startsWith('fedward:'));
}

const SMALL = ['--rounds', '2', '--min-clients', '2', '--input-size', '16'];

describe('parseCli', () => {
  it('keeps only the settings given, so a stored federation is checked against exactly those', () => {
    const r = parseCli(['--rounds', '8', '--deadline-s', '90', '--dp-noise', '1.5', '--dp-vn', '4', '--model', 'vgg-slim'], {});
    expect(r).toMatchObject({ ok: true });
    expect(r.ok && r.options.federation).toEqual({ rounds: 8, roundDeadlineMs: 90_000, privacy: { noiseMultiplier: 1.5, virtualClients: 4 }, model: { kind: 'vgg-slim' } });
    const none = parseCli([], {});
    expect(none.ok && none.options.federation).toEqual({});
  });

  it('takes host, port and database from the environment when the flags are absent', () => {
    const r = parseCli(['--reset'], { FEDWARD_PORT: '9001', FEDWARD_DB: 'x.sqlite' });
    expect(r.ok && r.options).toMatchObject({ host: '127.0.0.1', port: 9001, db: 'x.sqlite', reset: true, enrol: [] });
    expect(parseCli([], { FEDWARD_PORT: 'eighty' })).toEqual({ ok: false, help: false, error: "--port expects a port number (0 to 65535), got 'eighty' (see --help)" });
  });

  it('answers one line for an unknown flag, a bad number, or a flag without the one that turns its feature on', () => {
    expect(parseCli(['--x'], {})).toEqual({ ok: false, help: false, error: 'unknown option --x (see --help)' });
    expect(parseCli(['--rounds', 'ten'], {})).toEqual({ ok: false, help: false, error: "--rounds expects a number, got 'ten' (see --help)" });
    expect(parseCli(['--dp-vn', 'lots', '--dp-noise', '1'], {})).toMatchObject({ error: "--dp-vn expects a number, heuristic or adaptive, got 'lots' (see --help)" });
    expect(parseCli(['--server-lr', '0.1'], {})).toMatchObject({ error: '--server-lr needs --strategy (see --help)' });
    expect(parseCli(['-h'], {})).toEqual({ ok: false, help: true });
  });
});

describe('fedward (main.ts)', () => {
  it('--help lists every flag and exits 0; a bad flag is one line and exit 2', async () => {
    const help = await fedward(['--help']);
    expect(help.code).toBe(0);
    for (const name of Object.keys(FLAGS)) expect(help.stdout).toContain(`--${name}`);
    const bad = await fedward(['--colour', 'red']);
    expect([bad.code, bad.stderr]).toEqual([2, 'fedward: unknown option --colour (see --help)\n']);
    const badNumber = await fedward(['--epochs', '4x']);
    expect([badNumber.code, badNumber.stderr]).toEqual([2, "fedward: --epochs expects a number, got '4x' (see --help)\n"]);
  }, 60_000);

  it('refuses a database in use and a busy port with one line each; prints tokens only when it makes them', async () => {
    const db = tempDb();
    const tokensFile = join(dirname(db), 'tokens.json');
    const port = await freePort();
    const enrol = ['--enrol', 'left,right', '--tokens-file', tokensFile];

    const first = await fedward(['--db', db, '--port', String(port), ...SMALL, ...enrol]);
    expect(first.code).toBeNull();
    const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>;
    expect(first.stdout).toContain(`Token left         ${tokens.left}`);
    expect(first.stdout).toContain(`Tokens: 2 hospitals enrolled; tokens are in ${tokensFile} (mode 600)`);
    expect(statSync(tokensFile).mode & 0o777).toBe(0o600);

    const sameDb = await fedward(['--db', db, '--port', '0']);
    expect([sameDb.code, said(sameDb)]).toEqual([1, [`fedward: database ${db} is in use by another Fedward server (pid ${first.child.pid}); stop it or use --db`]]);
    const samePort = await fedward(['--db', tempDb(), '--port', String(port)]);
    expect([samePort.code, said(samePort)]).toEqual([
      1,
      [`fedward: port ${port} on 127.0.0.1 is already in use (another Fedward server?); choose another with --port or FEDWARD_PORT`],
    ]);

    // kill -9 leaves the lock behind; the next start takes it over and keeps the tokens to itself.
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const again = await fedward(['--db', db, '--port', '0', ...enrol], { FEDWARD_ADMIN_PASSWORD: 'another one' });
    expect(again.code).toBeNull();
    expect(again.stdout).not.toContain('fwd_');
    expect(again.stdout).toContain(`Tokens: 2 hospitals enrolled; tokens are in ${tokensFile} (mode 600)`);
    expect(again.stderr).toContain(`fedward: took over ${db}.lock: the server that held it (pid ${first.child.pid}`);
    expect(again.stderr).toContain('fedward: FEDWARD_ADMIN_PASSWORD ignored: the stored password wins; change it from the admin page');
  }, 120_000);

  it('replaces tokens in the file that the database does not know, and says so', async () => {
    const db = tempDb();
    const tokensFile = join(dirname(db), 'tokens.json');
    writeFileSync(tokensFile, JSON.stringify({ left: 'fwd_from_another_database' }));
    const run = await fedward(['--db', db, '--port', '0', ...SMALL, '--enrol', 'left,right', '--tokens-file', tokensFile]);
    const tokens = JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>;
    expect(tokens.left).not.toBe('fwd_from_another_database');
    expect(run.stderr).toContain(`fedward: the token for left in ${tokensFile} is not enrolled in federation demo of this database; created a new one`);
    expect(run.stdout).toContain(`Token left         ${tokens.left}`);
    expect(run.stdout).toContain(`Token right        ${tokens.right}`);
  }, 120_000);

  it('stops a start whose flags disagree with the stored federation; --reset starts a new one', async () => {
    const db = tempDb();
    const tokensFile = join(dirname(db), 'tokens.json');
    const enrol = ['--enrol', 'left', '--tokens-file', tokensFile];
    const first = await fedward(['--db', db, '--port', '0', ...SMALL, ...enrol]);
    expect(first.code).toBeNull();
    first.child.kill('SIGTERM');
    await new Promise((r) => first.child.once('exit', r));

    const conflict = await fedward(['--db', db, '--port', '0', '--rounds', '3', '--input-size', '16']);
    expect(conflict.code).toBe(2);
    const lines = said(conflict);
    expect(lines[0]).toBe('fedward: --rounds 3 conflicts with the stored federation demo (rounds = 2)');
    expect(lines[1]).toMatch(/^fedward: The database's settings win.*--reset/);
    expect(lines).toHaveLength(2);

    const reset = await fedward(['--db', db, '--port', '0', '--reset', '--rounds', '3', '--min-clients', '2', ...enrol]);
    expect(reset.code).toBeNull();
    expect(reset.stdout).toMatch(/Federation .*: 3 rounds/);
    // The old federation's token is no good for the new one: replaced, and shown once.
    expect(reset.stderr).toContain('is not enrolled in federation demo-2 of this database; created a new one');
    expect(reset.stdout).toMatch(/Token left +fwd_/);
  }, 120_000);
});
