/**
 * Load test (issue 13): many hospitals, a reconnect storm, a flood of wrong enrolment tokens and of
 * wrong admin passwords, while a prober measures how fast /healthz still answers.
 *
 *   npm run bench:load [-- --json] [--hospitals 200] [--wrong-tokens 200] [--wrong-passwords 100]
 *                      [--login-concurrency 10] [--in-process]
 *
 * By default the server runs in a child process (its own event loop, as in production; temp
 * database, FEDWARD_QUIET=1); --in-process starts it in this one. minClients is set out of reach,
 * so no round ever starts: this measures connections and refusals, not training.
 *
 * Exits non-zero only when something crashed (the server process, or this one), never on figures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';

const { values: a } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    hospitals: { type: 'string', default: '200' },
    'wrong-tokens': { type: 'string', default: '200' },
    'wrong-passwords': { type: 'string', default: '100' },
    /** Parallel login attempts (a guesser with this many connections). */
    'login-concurrency': { type: 'string', default: '10' },
    'in-process': { type: 'boolean', default: false },
    /** Internal: this process is the spawned server. */
    serve: { type: 'boolean', default: false },
    'admin-password': { type: 'string' },
  },
  strict: false,
});

const HEALTHZ_EVERY_MS = 20;
const STEP_TIMEOUT_MS = 60_000;

// ---- the server: in a child process (default) or in this one -------------------------------

interface ServerHandle {
  url: string;
  tokens(n: number, prefix: string): Promise<string[]>;
  close(): Promise<void>;
  /** Rejects when the server process dies unexpectedly. */
  crashed: Promise<never>;
}

type ToChild = { type: 'tokens'; n: number; prefix: string; id: number } | { type: 'close' };
type FromChild = { type: 'ready'; url: string } | { type: 'tokens'; id: number; tokens: string[] } | { type: 'closed' } | { type: 'crash'; error: string };

async function startInline(adminPassword: string): Promise<{ url: string; createToken(h: string): string; close(): Promise<void>; dir: string }> {
  process.env.FEDWARD_QUIET = '1';
  const { startServer } = await import('../src/server');
  const dir = mkdtempSync(join(tmpdir(), 'fedward-load-'));
  const server = await startServer({
    dbPath: join(dir, 'fedward.sqlite'),
    host: '127.0.0.1',
    port: 0,
    adminPassword,
    // Out of reach: no round starts, so the figures are about connections only.
    federation: { minClients: 10_000 },
  });
  return { url: server.url, createToken: (h) => server.createToken(h), close: () => server.close(), dir };
}

/** Child mode: start the server, answer token requests over IPC, close on request. */
async function serve(): Promise<void> {
  const send = (m: FromChild) => process.send?.(m);
  const crash = (e: unknown) => {
    send({ type: 'crash', error: (e as Error)?.stack ?? String(e) });
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const s = await startInline(a['admin-password'] as string);
  let closing = false;
  process.on('message', (m: ToChild) => {
    if (m.type === 'tokens') send({ type: 'tokens', id: m.id, tokens: Array.from({ length: m.n }, (_, i) => s.createToken(`${m.prefix}-${i}`)) });
    else if (m.type === 'close' && !closing) {
      closing = true;
      void s.close().then(() => {
        rmSync(s.dir, { recursive: true, force: true });
        send({ type: 'closed' });
        process.disconnect?.();
        process.exit(0);
      }, crash);
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => {
    if (closing) return;
    closing = true;
    void s.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', url: s.url });
}

async function startChild(adminPassword: string): Promise<ServerHandle> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', '--admin-password', adminPassword], {
    env: { ...process.env, FEDWARD_QUIET: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let closing = false;
  const waiters = new Map<number, (t: string[]) => void>();
  let nextId = 0;
  const crashed = new Promise<never>((_, fail) => {
    child.on('message', (m: FromChild) => {
      if (m.type === 'crash') fail(new Error(`server process crashed:\n${m.error}`));
      if (m.type === 'tokens') waiters.get(m.id)?.(m.tokens);
    });
    child.on('exit', (code, signal) => {
      if (!closing || code !== 0) fail(new Error(`server process exited (code ${code}, signal ${signal})`));
    });
  });
  crashed.catch(() => {});
  const url = await Promise.race([
    new Promise<string>((ok) => child.on('message', (m: FromChild) => m.type === 'ready' && ok(m.url))),
    crashed,
  ]);
  return {
    url,
    crashed,
    tokens: (n, prefix) =>
      new Promise((ok) => {
        const id = nextId++;
        waiters.set(id, ok);
        child.send({ type: 'tokens', n, prefix, id } satisfies ToChild);
      }),
    close: () =>
      new Promise<void>((ok) => {
        closing = true;
        child.once('exit', () => ok());
        child.send({ type: 'close' } satisfies ToChild);
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

async function startHere(adminPassword: string): Promise<ServerHandle> {
  const s = await startInline(adminPassword);
  return {
    url: s.url,
    crashed: new Promise<never>(() => {}),
    tokens: async (n, prefix) => Array.from({ length: n }, (_, i) => s.createToken(`${prefix}-${i}`)),
    close: async () => {
      await s.close();
      rmSync(s.dir, { recursive: true, force: true });
    },
  };
}

// ---- measuring -------------------------------------------------------------------------------

interface Latency {
  n: number;
  errors: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

function summarize(xs: number[], errors: number): Latency {
  const s = [...xs].sort((p, q) => p - q);
  const q = (f: number) => (s.length ? round(s[Math.min(s.length - 1, Math.ceil(f * s.length) - 1)]!) : null);
  return { n: s.length, errors, p50: q(0.5), p99: q(0.99), max: s.length ? round(s.at(-1)!) : null };
}
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** GET /healthz every 20 ms (one at a time: a stalled server shows as one long sample), tagged with the phase running. */
function healthProbe(url: string) {
  const { port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: { phase: string; ms: number; ok: boolean }[] = [];
  let phase = 'baseline';
  let running = true;
  const one = () =>
    new Promise<{ ms: number; ok: boolean }>((resolve) => {
      const t0 = performance.now();
      const r = httpRequest({ host: '127.0.0.1', port: Number(port), path: '/healthz', agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - t0, ok: res.statusCode === 200 }));
      });
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', () => resolve({ ms: performance.now() - t0, ok: false }));
      r.end();
    });
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const tag = phase;
      const r = await one();
      samples.push({ phase: tag, ...r });
      const left = HEALTHZ_EVERY_MS - (performance.now() - t0);
      if (left > 0) await sleep(left);
    }
  })();
  return {
    set phase(p: string) {
      phase = p;
    },
    async stop() {
      running = false;
      await loop;
      agent.destroy();
    },
    by(p?: string): Latency {
      const xs = samples.filter((s) => p === undefined || s.phase === p);
      return summarize(xs.filter((s) => s.ok).map((s) => s.ms), xs.filter((s) => !s.ok).length);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), ok(v)), (e: unknown) => (clearTimeout(t), fail(e)));
  });
}

const hospitalSocket = (url: string, token: string): Socket =>
  io(url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, timeout: STEP_TIMEOUT_MS });

/** Connects and says the minimal hello; resolves with the time connected and the time ready (ms since t0). */
async function joinOne(s: Socket, t0: number): Promise<{ connected: number; ready: number }> {
  await withTimeout(
    new Promise<void>((ok, fail) => {
      s.once('connect', () => ok());
      s.once('connect_error', (e) => fail(e));
    }),
    STEP_TIMEOUT_MS,
    'connect',
  );
  const connected = performance.now() - t0;
  const r = (await withTimeout(s.emitWithAck('hello', { backend: 'cpu', trainSamples: 10, testSamples: 5 }), STEP_TIMEOUT_MS, 'hello')) as { ok: boolean; error?: { message: string } };
  if (!r.ok) throw new Error(`hello refused: ${r.error?.message}`);
  return { connected, ready: performance.now() - t0 };
}

interface JoinFigures {
  hospitals: number;
  ok: number;
  failed: number;
  firstError: string | null;
  allConnectedMs: number | null;
  allReadyMs: number | null;
}

async function joinAll(sockets: Socket[]): Promise<JoinFigures> {
  const t0 = performance.now();
  const results = await Promise.allSettled(sockets.map((s) => joinOne(s, t0)));
  const ok = results.filter((r): r is PromiseFulfilledResult<{ connected: number; ready: number }> => r.status === 'fulfilled').map((r) => r.value);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  return {
    hospitals: sockets.length,
    ok: ok.length,
    failed: failed.length,
    firstError: failed[0] ? String((failed[0].reason as Error)?.message ?? failed[0].reason) : null,
    allConnectedMs: failed.length ? null : round(Math.max(...ok.map((r) => r.connected))),
    allReadyMs: failed.length ? null : round(Math.max(...ok.map((r) => r.ready))),
  };
}

/** Wrong enrolment tokens from this one address, all at once. */
async function wrongTokens(url: string, n: number) {
  const t0 = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = hospitalSocket(url, `fwd_${randomBytes(24).toString('base64url')}`);
      try {
        await withTimeout(
          new Promise<void>((ok, fail) => {
            s.once('connect', () => ok());
            s.once('connect_error', (e) => fail(e));
          }),
          STEP_TIMEOUT_MS,
          'handshake',
        );
        return 'connected';
      } catch (e) {
        const m = (e as Error).message;
        return /too many/i.test(m) ? 'rateLimited' : /unknown or revoked/i.test(m) ? 'refused' : /no answer/.test(m) ? 'timeout' : `other: ${m}`;
      } finally {
        s.disconnect();
      }
    }),
  );
  const count = (k: string) => outcomes.filter((o) => o === k).length;
  const other = outcomes.filter((o) => o.startsWith('other'));
  return {
    attempts: n,
    refusedUnknownToken: count('refused'),
    refusedRateLimited: count('rateLimited'),
    connected: count('connected'),
    timeouts: count('timeout'),
    other: other.length,
    firstOther: other[0] ?? null,
    ms: round(performance.now() - t0),
  };
}

function postLogin(url: string, password: string): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const { port } = new URL(url);
  const data = Buffer.from(JSON.stringify({ password }));
  return new Promise((resolve) => {
    const r = httpRequest(
      { host: '127.0.0.1', port: Number(port), path: '/api/admin/login', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null, body }));
      },
    );
    r.on('error', (e) => resolve({ status: 0, retryAfter: null, body: e.message }));
    r.end(data);
  });
}

/** Wrong admin passwords: POST /api/admin/login, or (a server without it) the admin socket's auth { password }. */
async function wrongPasswords(url: string, n: number, concurrency: number) {
  const t0 = performance.now();
  const wrong = () => `wrong-${randomBytes(9).toString('base64url')}`;
  const first = await postLogin(url, wrong());
  const viaHttp = first.status === 401 || first.status === 429 || (first.status === 400 && first.body.includes('password'));
  const statuses: { status: number; retryAfter: boolean }[] = viaHttp ? [{ status: first.status, retryAfter: first.retryAfter !== null }] : [];
  const attempt = async (): Promise<{ status: number; retryAfter: boolean }> => {
    if (viaHttp) {
      const r = await postLogin(url, wrong());
      return { status: r.status, retryAfter: r.retryAfter !== null };
    }
    const s = io(`${url}/admin`, { auth: { password: wrong() }, transports: ['websocket'], forceNew: true, reconnection: false });
    try {
      await withTimeout(new Promise<void>((ok, fail) => (s.once('connect', () => ok()), s.once('connect_error', (e) => fail(e)))), STEP_TIMEOUT_MS, 'admin handshake');
      return { status: 200, retryAfter: false };
    } catch (e) {
      return { status: /too many/i.test((e as Error).message) ? 429 : /wrong|password|session/i.test((e as Error).message) ? 401 : 0, retryAfter: false };
    } finally {
      s.disconnect();
    }
  };
  let left = n - statuses.length;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, left) }, async () => {
      while (left > 0) {
        left -= 1;
        statuses.push(await attempt());
      }
    }),
  );
  const count = (st: number) => statuses.filter((s) => s.status === st).length;
  return {
    via: viaHttp ? 'POST /api/admin/login' : 'admin socket auth { password }',
    attempts: statuses.length,
    concurrency,
    unauthorized401: count(401),
    rateLimited429: count(429),
    rateLimitedWithRetryAfter: statuses.filter((s) => s.status === 429 && s.retryAfter).length,
    accepted200: count(200),
    other: statuses.filter((s) => ![200, 401, 429].includes(s.status)).length,
    ms: round(performance.now() - t0),
  };
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const nHospitals = Number(a.hospitals);
  const nWrongTokens = Number(a['wrong-tokens']);
  const nWrongPasswords = Number(a['wrong-passwords']);
  const loginConcurrency = Number(a['login-concurrency']);
  const adminPassword = randomBytes(18).toString('base64url');
  const log = (m: string) => (a.json ? process.stderr : process.stdout).write(`${m}\n`);

  log(`starting the server (${a['in-process'] ? 'in this process' : 'child process'})…`);
  const server = a['in-process'] ? await startHere(adminPassword) : await startChild(adminPassword);
  let sockets: Socket[] = [];
  try {
    const run = async (): Promise<Record<string, unknown>> => {
      const tokens = await server.tokens(nHospitals, 'load');
      const probe = healthProbe(server.url);
      await sleep(1_000);

      probe.phase = 'connect';
      log(`${nHospitals} hospitals connecting and saying hello…`);
      sockets = tokens.map((t) => hospitalSocket(server.url, t));
      const connect = await joinAll(sockets);

      probe.phase = 'storm';
      log('reconnect storm…');
      const tStorm = performance.now();
      for (const s of sockets) s.disconnect();
      sockets = tokens.map((t) => hospitalSocket(server.url, t));
      const storm = { ...(await joinAll(sockets)), sinceDisconnectMs: round(performance.now() - tStorm) };

      probe.phase = 'wrong-tokens';
      log(`${nWrongTokens} wrong enrolment tokens…`);
      const tokensFigures = await wrongTokens(server.url, nWrongTokens);

      probe.phase = 'wrong-passwords';
      log(`${nWrongPasswords} wrong admin passwords…`);
      const passwords = await wrongPasswords(server.url, nWrongPasswords, loginConcurrency);

      probe.phase = 'after';
      await sleep(1_000);
      const stillConnected = sockets.filter((s) => s.connected).length;
      await probe.stop();

      const phases = ['baseline', 'connect', 'storm', 'wrong-tokens', 'wrong-passwords', 'after'];
      return {
        mode: a['in-process'] ? 'in-process' : 'child-process',
        hospitals: nHospitals,
        connect,
        storm,
        wrongTokens: tokensFigures,
        wrongAdminPasswords: passwords,
        stillConnectedAtEnd: stillConnected,
        healthz: { everyMs: HEALTHZ_EVERY_MS, phases: Object.fromEntries(phases.map((p) => [p, probe.by(p)])), overall: probe.by() },
      };
    };
    const result = await Promise.race([run(), server.crashed]);
    print(result, Boolean(a.json));
  } finally {
    for (const s of sockets) s.disconnect();
    await server.close();
  }
}

function print(r: Record<string, unknown>, json: boolean): void {
  const out = json ? process.stderr : process.stdout;
  const c = r.connect as JoinFigures;
  const s = r.storm as JoinFigures & { sinceDisconnectMs: number };
  const t = r.wrongTokens as Awaited<ReturnType<typeof wrongTokens>>;
  const p = r.wrongAdminPasswords as Awaited<ReturnType<typeof wrongPasswords>>;
  const h = r.healthz as { phases: Record<string, Latency>; overall: Latency };
  const ms = (x: number | null) => (x === null ? '—' : `${x} ms`);
  const rows: [string, string][] = [
    ['connect + hello', `${c.ok}/${c.hospitals} ok; all connected ${ms(c.allConnectedMs)}, all ready ${ms(c.allReadyMs)}${c.firstError ? `; first error: ${c.firstError}` : ''}`],
    ['reconnect storm', `${s.ok}/${s.hospitals} back; all connected ${ms(s.allConnectedMs)}, all ready ${ms(s.allReadyMs)} (${ms(s.sinceDisconnectMs)} since the disconnects)${s.firstError ? `; first error: ${s.firstError}` : ''}`],
    ['wrong tokens', `${t.attempts} in ${ms(t.ms)}: ${t.refusedUnknownToken} "unknown or revoked", ${t.refusedRateLimited} "too many"${t.connected ? `, ${t.connected} CONNECTED` : ''}${t.timeouts ? `, ${t.timeouts} timed out` : ''}${t.other ? `, ${t.other} other (${t.firstOther})` : ''}`],
    ['wrong admin passwords', `${p.attempts} via ${p.via} (${p.concurrency} in parallel) in ${ms(p.ms)}: ${p.unauthorized401}×401, ${p.rateLimited429}×429 (${p.rateLimitedWithRetryAfter} with Retry-After)${p.accepted200 ? `, ${p.accepted200} ACCEPTED` : ''}${p.other ? `, ${p.other} other` : ''}`],
    ['still connected at the end', `${r.stillConnectedAtEnd as number}/${r.hospitals as number}`],
  ];
  out.write(`\nFedward load test (${r.mode as string})\n`);
  for (const [k, v] of rows) out.write(`  ${k.padEnd(28)} ${v}\n`);
  out.write(`\n  /healthz every ${HEALTHZ_EVERY_MS} ms      n   err    p50 ms    p99 ms    max ms\n`);
  for (const [phase, l] of [...Object.entries(h.phases), ['overall', h.overall] as const]) {
    const f = (x: number | null) => (x === null ? '—' : String(x)).padStart(10);
    out.write(`  ${phase.padEnd(22)} ${String(l.n).padStart(5)} ${String(l.errors).padStart(5)}${f(l.p50)}${f(l.p99)}${f(l.max)}\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (a.serve) {
  void serve();
} else {
  process.on('unhandledRejection', (e) => {
    console.error('load test crashed:', e);
    process.exit(1);
  });
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error('load test failed:', (e as Error)?.stack ?? e);
      process.exit(1);
    },
  );
}
