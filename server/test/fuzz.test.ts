import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditQuerySchema,
  changePasswordSchema,
  createTokenSchema,
  endRoundSchema,
  evaluationSchema,
  helloSchema,
  hospitalStatusSchema,
  secaggKeysSchema,
  secaggRevealSchema,
  secaggSharesSchema,
  revokeTokenSchema,
  setDeadlineSchema,
  skipHospitalSchema,
  updateBeginSchema,
  updateChunkSchema,
  updateEndSchema,
} from '@fedward/protocol';
import { startServer, type RunningServer } from '../src';
import { RAW_ENGINE_PACKETS, RAW_PACKETS, MIB, casesFor, fixedCasesFor, int, mulberry32, pick, preview, type EventSpec, type FuzzCase } from './fuzz-inputs';
import { tempDb } from './helpers';

/**
 * Fuzzing (issue 13): every Socket.io event of both namespaces and well over 100 malformed HTTP
 * requests against a real server on 127.0.0.1. Nothing may crash it; every malformed message
 * with an ack is answered { ok: false, error: { code, message } }; every HTTP request gets a status.
 *
 * Inputs come from a seeded PRNG: rerun a failure with FUZZ_SEED=<seed printed below>.
 */

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : Date.now() >>> 0;
// Generous: a busy CI machine can hold an answer up for seconds; a hang is still caught (it never comes).
const ACK_TIMEOUT_MS = 20_000;
const ADMIN_PASSWORD = 'fuzz-admin-password-1';
const PER_EVENT = Number(process.env.FUZZ_PER_EVENT ?? 60);
const ODD_PER_EVENT = 12;
console.log(`[fuzz] seed=${SEED} (rerun with FUZZ_SEED=${SEED}); ${PER_EVENT} random payloads per event`);

// ---- event specs -----------------------------------------------------------------------------

const HOSPITAL: EventSpec[] = [
  {
    event: 'hello',
    schema: helloSchema,
    valid: { backend: 'cpu', trainSamples: 10, testSamples: 5 },
    special: { backend: ['CPU', 'gpu', '', 'cpu ', 'cpu\u0000', ['cpu']], patientIds: ['ALL', 'all ', 1, 'everyone', null], trainSamples: [-1, 1.5, 1e9 + 1, '10'] },
  },
  {
    event: 'update-begin',
    schema: updateBeginSchema,
    valid: { round: 1, trainSamples: 10, trainLoss: 0.5, backend: 'cpu', totalBytes: 1024 },
    special: { round: [0, -1, 1.5, '1'], totalBytes: [0, -1, 2 ** 53, 1e12], subClient: [5, -1, 1.5], subClients: [0, -1, 1e9], steps: [-1, 0.5], trainLoss: [1e6 + 1, -1e6 - 1] },
  },
  {
    event: 'update-chunk',
    schema: updateChunkSchema,
    valid: { round: 1, index: 0, data: new Uint8Array(16) },
    // Numbers, strings, arrays and Buffer's JSON form where binary is expected.
    special: { data: [42, 'AAAA', [1, 2, 3], { type: 'Buffer', data: [1, 2, 3] }, null, { byteLength: 4 }], index: [-1, 0.5, 2 ** 53] },
  },
  { event: 'update-end', schema: updateEndSchema, valid: { round: 1 }, special: { round: [0, -1, 0.5, '1', true] } },
  {
    event: 'evaluation',
    schema: evaluationSchema,
    valid: { round: 0, testSamples: 5, accuracy: 0.5, loss: 0.7 },
    special: { accuracy: [1.01, -0.01, '0.5'], testSamples: [0, -5], loss: [1e6 + 1], deputy: [{ accuracy: 2, loss: 0 }, {}, 'x', null, [0.5, 0.5]] },
  },
  {
    event: 'secagg-keys',
    schema: secaggKeysSchema,
    valid: { round: 1, cPk: new Uint8Array(32), sPk: new Uint8Array(32) },
    special: { cPk: [new Uint8Array(31), new Uint8Array(33), 'AAAA', [1, 2], null], sPk: [new Uint8Array(0), 42], round: [0, -1, 1.5] },
  },
  {
    event: 'secagg-shares',
    schema: secaggSharesSchema,
    valid: { round: 1, shares: [{ to: 'x', ciphertext: new Uint8Array(164) }] },
    special: { shares: [[], [{ to: '', ciphertext: new Uint8Array(164) }], [{ to: 'x', ciphertext: new Uint8Array(4097) }], [{ to: 'x' }], 'x', null] },
  },
  {
    event: 'secagg-reveal',
    schema: secaggRevealSchema,
    valid: { round: 1, sShares: [], bShares: [{ of: 'x', share: new Uint8Array(68) }] },
    special: { bShares: [[{ of: 'x', share: new Uint8Array(257) }], [{ of: 'x' }], [{ share: new Uint8Array(68) }], {}], sShares: ['x', null, [1]] },
  },
  {
    event: 'status',
    schema: hospitalStatusSchema,
    valid: { phase: 'idle', round: 0, progress: 0 },
    special: { phase: ['IDLE', 'done', '', 'training '], progress: [1.1, -0.1, '0.5'], subClient: [-1, 0.5], subClients: [0] },
  },
];

const ADMIN: EventSpec[] = [
  { event: 'create-token', schema: createTokenSchema, valid: { hospital: 'Fuzz Clinic' }, special: { hospital: ['', '   ', 'a'.repeat(81), 'bad/name', '<b>x</b>', 'x\u0000', '\u202e', 'a\nb'] } },
  // 999999 is no token's id; the mutations below may still hit a real one, which is harmless here.
  { event: 'revoke-token', schema: revokeTokenSchema, valid: { id: 999_999 }, special: { id: [0, -1, 1.5, '1', 2 ** 53] } },
  { event: 'end-round', schema: endRoundSchema, valid: { round: 1 }, special: { round: [0, -1, 0.5, '1'] } },
  { event: 'skip-hospital', schema: skipHospitalSchema, valid: { hospital: 'Nobody Here', skip: true }, special: { skip: ['true', 1, 0, null], hospital: ['', '../x', 'a'.repeat(81)] } },
  { event: 'set-deadline', schema: setDeadlineSchema, valid: { round: 1, seconds: 60 }, special: { seconds: [4, 0, 7 * 24 * 3600 + 1, 60.5, '60'], round: [0, -1] } },
  { event: 'audit-log', schema: auditQuerySchema, valid: { limit: 10 }, special: { limit: [0, 10_001, -1, 1.5, '10'] } },
  // Never the real password: a structurally valid change must still be refused.
  { event: 'change-password', schema: changePasswordSchema, valid: { current: 'not-the-admin-password', next: 'a-new-password-123' }, special: { next: ['short', 'x'.repeat(1025), ''], current: ['', 'x'.repeat(1025)] } },
];

/** Change-password with a wrong current password must be refused even when well-formed. */
const ALWAYS_ERROR = new Set(['change-password']);

const buildCases = (specs: EventSpec[], hasAck: (e: string) => boolean) => {
  const normal = new Map<string, FuzzCase[]>();
  const odd = new Map<string, FuzzCase[]>();
  for (const spec of specs) {
    const ack = hasAck(spec.event);
    const cs = [...fixedCasesFor(spec, ack), ...casesFor(SEED, spec, PER_EVENT, false, ack)];
    normal.set(spec.event, ALWAYS_ERROR.has(spec.event) ? cs.map((c) => ({ ...c, expect: 'error' as const })) : cs);
    if (ack) odd.set(spec.event, casesFor(SEED, spec, ODD_PER_EVENT, true));
  }
  return { normal, odd };
};
const hospitalCases = buildCases(HOSPITAL, (e) => e !== 'status');
const adminCases = buildCases(ADMIN, () => true);
const countLine = (m: Map<string, FuzzCase[]>) => [...m].map(([e, cs]) => `${e}×${cs.length}`).join(' ');

// ---- HTTP cases ------------------------------------------------------------------------------

interface HttpCase {
  name: string;
  raw: Buffer;
}

const req = (method: string, path: string | Buffer, headers: string[] = [], version = 'HTTP/1.1', body = ''): Buffer =>
  Buffer.concat([
    Buffer.from(`${method} `, 'latin1'),
    typeof path === 'string' ? Buffer.from(path, 'utf8') : path,
    Buffer.from(` ${version}\r\n${['Host: 127.0.0.1', ...headers, 'Connection: close'].join('\r\n')}\r\n\r\n${body}`, 'latin1'),
  ]);

const MALFORMED_PATHS: string[] = [
  '/%', '/%ff', '/%FF%FE', '/%zz', '/%2', '/%%', '/%E0%A4%A', '/%c0%af', '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
  '/%00', '/a%00b', '/index.html%00.js', '/%2e%2e/%2e%2e/etc/passwd', '/%252e%252e/%252e%252e/etc/passwd', '/%25%32%65%25%32%65/',
  '/..%2f..%2fetc/passwd', '/..%2F..%2F..%2Fetc%2Fpasswd', '/..%5c..%5cwindows%5cwin.ini', '/../../../../etc/passwd',
  '/..\\..\\etc\\passwd', '/.%2e/.%2e/package.json', '/%2e%2e%2f', '/%u002e%u002e/', '/%252f', '/%5C..%5C..%5C',
  '//', '///', '//etc/passwd', '//evil.example/', '//evil.example/%', '/./', '/.', '/..', '/...', '/a/../../..',
  '/admin/%', '/admin/%zz', '/admin/%ff', '/admin/%c0%af', '/admin/..%2f..%2fpackage.json', '/admin/%2e%2e/%2e%2e/package.json',
  '/admin/../../server/src/server.ts', '/admin', '/admin/', '/admin//', '/admin/%00', '/admin/index.html%00', '/admin/assets/%',
  '/admin/assets/../../../package.json', '/admin/favicon.ico%00', '/admin?%', '/admin/?x=%ff', '/admin%2f', '/ADMIN/',
  '/assets/..%2f..%2f..%2fpackage.json', '/assets/%', '/index.html', '/index.html%3f', '/index.html?x=%', '/?%', '/?a=%ff&b=%00',
  '/#%', '/#', '/?#', '/healthz?x', '/healthz/', '/healthz%00', '/HEALTHZ', '/healthz#', '/healthz?', '/healthz/..', '/%68ealthz',
  '/api/studies?x', '/api/studies/', '/api/studies%00', '/api/', '/api/admin/login', '/api/admin/%', '/api/..%2fhealthz',
  '/socket.io/', '/socket.io', '/socket.io/?EIO=99', '/socket.io/?EIO=4', '/socket.io/?EIO=4&transport=evil',
  '/socket.io/?EIO=4&transport=polling&sid=nope', '/socket.io/?EIO=3&transport=polling', '/socket.io/?EIO=4&transport=websocket',
  '/socket.io/?EIO=%ff', '/socket.io/%', '/socket.io/../admin', '/socket.io/?EIO=4&transport=polling&sid=%00', '/socket.iox',
  '/socket.io/?EIO=-1&transport=polling', '/socket.io/?EIO=4&EIO=4&transport=polling&transport=websocket',
  '/é', '/%C3%A9', '/😀', '/%F0%9F%98%80', '/\u202e', '/%E2%80%AE', '/%ED%A0%80', '/%F4%90%80%80',
  `/${'a'.repeat(64 * 1024)}`, `/${'%'.repeat(8_000)}`, `/?${'q=1&'.repeat(3_000)}`, `/${'a/'.repeat(3_000)}`, `/${'..%2f'.repeat(2_000)}`,
  `/admin/${'%ff'.repeat(1_000)}`, '/a?b?c?d', '/;', '/;jsessionid=x', '/*', '*', 'index.html', 'http://evil.example/',
  'http://127.0.0.1/healthz', 'https://x/%', '/%0d%0aSet-Cookie:x=1', '/@', '/~', '/.git/config', '/.env', '/server/src/server.ts',
  '/node_modules/', '/etc/passwd', '/C:/Windows/win.ini', '/favicon.ico', '/robots.txt',
];

/** Bytes no request target may hold: the HTTP parser itself answers 400. */
const RAW_BYTE_PATHS: [string, Buffer][] = [
  ['NUL byte', Buffer.from('/a\x00b', 'latin1')],
  ['lone NUL', Buffer.from('/\x00', 'latin1')],
  ['tab', Buffer.from('/\t', 'latin1')],
  ['space inside', Buffer.from('/ /', 'latin1')],
  ['DEL', Buffer.from('/\x7f', 'latin1')],
  ['control byte', Buffer.from('/\x01', 'latin1')],
  ['CRLF injection', Buffer.from('/x\r\nX-Injected: 1', 'latin1')],
  ['latin1 high bytes', Buffer.from('/\xff\xfe', 'latin1')],
  ['invalid UTF-8', Buffer.from([0x2f, 0xc3, 0x28, 0xa0, 0xa1])],
];

function randomPaths(n: number): [string, Buffer][] {
  const rng = mulberry32(SEED ^ 0x5eed);
  const atoms = ['%', '%2', '%ff', '%00', '%2e', '%2f', '..', '/', 'a', 'admin', 'socket.io', '?', '#', '&', '=', ';', '%c0%ae', '~', '😀', '\\'];
  return Array.from({ length: n }, (_, i) => {
    const parts = ['/'];
    for (let j = 0, k = 1 + int(rng, 12); j < k; j++) parts.push(pick(rng, atoms));
    if (int(rng, 5) === 0) parts.push(String.fromCharCode(0x20 + int(rng, 95)));
    return [`random #${i}`, Buffer.from(parts.join(''), 'utf8')];
  });
}

const junkAuth = ['', 'Bearer', 'Bearer ', 'Bearer x', 'Basic Zm9vOmJhcg==', `Bearer ${'A'.repeat(8_000)}`, 'Bearer ../../etc/passwd', 'bearer fwd_x', 'Bearer fwd_\xff\x80', 'Bearer  fwd_x', 'Token fwd_x'];

const HTTP_CASES: HttpCase[] = [
  ...MALFORMED_PATHS.map((p) => ({ name: `GET ${preview(p, 60)}`, raw: req('GET', p) })),
  ...RAW_BYTE_PATHS.map(([what, p]) => ({ name: `GET <${what}>`, raw: req('GET', p) })),
  ...randomPaths(24).map(([what, p]) => ({ name: `GET ${what} ${preview(p.toString('latin1'), 40)}`, raw: req('GET', p) })),
  ...['PUT', 'DELETE', 'TRACE', 'OPTIONS', 'PATCH', 'POST', 'PROPFIND', 'HEAD'].flatMap((m) => [
    { name: `${m} /`, raw: req(m, '/') },
    { name: `${m} /healthz`, raw: req(m, '/healthz') },
    { name: `${m} /admin/%`, raw: req(m, '/admin/%') },
  ]),
  { name: 'OPTIONS *', raw: req('OPTIONS', '*') },
  { name: 'unknown method FOO', raw: req('FOO', '/') },
  { name: 'lower-case method', raw: req('get', '/') },
  { name: 'POST /api/studies with a body', raw: req('POST', '/api/studies', ['Content-Type: application/json', 'Content-Length: 2'], 'HTTP/1.1', '{}') },
  ...junkAuth.map((a) => ({ name: `GET /api/studies Authorization: ${preview(a, 30)}`, raw: req('GET', '/api/studies', [`Authorization: ${a}`]) })),
  { name: 'two Authorization headers', raw: req('GET', '/api/studies', ['Authorization: Bearer a', 'Authorization: Bearer b']) },
  { name: 'Authorization of 20 KiB (header overflow)', raw: req('GET', '/api/studies', [`Authorization: Bearer ${'A'.repeat(20_000)}`]) },
  { name: '2000 headers', raw: req('GET', '/', Array.from({ length: 2_000 }, (_, i) => `X-H${i}: ${i}`)) },
  { name: 'header without colon', raw: req('GET', '/', ['NoColonHere']) },
  { name: 'NUL in a header value', raw: req('GET', '/', ['X-A: a\x00b']) },
  { name: 'no Host header (HTTP/1.1)', raw: Buffer.from('GET / HTTP/1.1\r\nConnection: close\r\n\r\n') },
  { name: 'HTTP/1.0 without Host', raw: Buffer.from('GET /healthz HTTP/1.0\r\n\r\n') },
  { name: 'HTTP/2.0 version', raw: req('GET', '/', [], 'HTTP/2.0') },
  { name: 'HTTP/9.9 version', raw: req('GET', '/', [], 'HTTP/9.9') },
  { name: 'no version', raw: Buffer.from('GET /\r\n\r\n') },
  { name: 'garbage request line', raw: Buffer.from('\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n', 'latin1') },
  { name: 'Content-Length and Transfer-Encoding', raw: req('POST', '/', ['Content-Length: 4', 'Transfer-Encoding: chunked'], 'HTTP/1.1', '0\r\n\r\n') },
  { name: 'two different Content-Lengths', raw: req('POST', '/', ['Content-Length: 1', 'Content-Length: 2'], 'HTTP/1.1', 'ab') },
  { name: 'negative Content-Length', raw: req('POST', '/', ['Content-Length: -1']) },
  { name: 'non-numeric Content-Length', raw: req('POST', '/', ['Content-Length: abc']) },
  { name: 'malformed chunk', raw: req('POST', '/', ['Transfer-Encoding: chunked'], 'HTTP/1.1', 'zz\r\nhello\r\n0\r\n\r\n') },
  { name: 'Expect: 100-continue', raw: req('POST', '/healthz', ['Content-Length: 2', 'Expect: 100-continue'], 'HTTP/1.1', '{}') },
  { name: 'websocket upgrade with a bad key', raw: req('GET', '/socket.io/?EIO=4&transport=websocket', ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: nope', 'Sec-WebSocket-Version: 13']) },
  { name: 'websocket upgrade with EIO=99', raw: req('GET', '/socket.io/?EIO=99&transport=websocket', ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13']) },
  { name: 'websocket upgrade on a non-socket.io path', raw: req('GET', '/admin/', ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13']) },
  { name: 'h2c upgrade', raw: req('GET', '/', ['Upgrade: h2c', 'Connection: Upgrade, HTTP2-Settings', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']) },
  { name: 'CONNECT', raw: Buffer.from('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n') },
  { name: 'polling POST with junk body', raw: req('POST', '/socket.io/?EIO=4&transport=polling&sid=nope', ['Content-Type: text/plain', 'Content-Length: 5'], 'HTTP/1.1', '42[x]') },
];

/** Statuses that count as an answer: served (200/204/301/304), refused (4xx), not built (503), parser-level (501/505). */
const ANSWERED = (s: number) => [200, 204, 301, 304, 501, 503, 505].includes(s) || (s >= 400 && s < 500);

/** One raw request over a fresh TCP connection; the first final (non-1xx) status, or why there was none. */
function rawHttp(port: number, raw: Buffer, timeoutMs = 5_000): Promise<{ status: number | null; why?: string }> {
  return new Promise((resolve) => {
    let head = '';
    let done = false;
    const finish = (why?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const statuses = [...head.matchAll(/(?:^|\r\n)HTTP\/\d\.\d (\d{3})/g)].map((m) => Number(m[1]));
      const final = statuses.find((s) => s >= 200) ?? null;
      resolve(final === null ? { status: null, why: why ?? (head ? `no final status in ${JSON.stringify(head.slice(0, 80))}` : 'connection closed without any answer') } : { status: final });
    };
    // write, not end: a half-closed request is aborted by Node before its answer (no browser does that).
    const sock = netConnect({ host: '127.0.0.1', port }, () => sock.write(raw));
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    sock.on('data', (d: Buffer) => {
      if (head.length < 64 * 1024) head += d.toString('latin1');
      // A final status and the end of its headers are all we need.
      if (/(?:^|\r\n)HTTP\/\d\.\d [2-5]\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n/.test(head)) finish();
    });
    sock.on('end', () => finish());
    sock.on('close', () => finish());
    sock.on('error', (e) => finish(`socket error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
  });
}

function get(url: string, path: string): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: Number(port), path, method: 'GET', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

function postJson(url: string, path: string, body: unknown): Promise<{ status: number; type: string; text: string }> {
  const { port } = new URL(url);
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      { host: '127.0.0.1', port: Number(port), path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text }));
      },
    );
    r.on('error', reject);
    r.end(data);
  });
}

// ---- Socket.io helpers -----------------------------------------------------------------------

const connected = (s: Socket, timeoutMs = 10_000) =>
  new Promise<void>((ok, fail) => {
    if (s.connected) return ok();
    const t = setTimeout(() => fail(new Error('no connection within 10 s')), timeoutMs);
    s.once('connect', () => (clearTimeout(t), ok()));
    s.once('connect_error', (e) => (clearTimeout(t), fail(e)));
  });

const hospitalSocket = (url: string, token: unknown, extra: Record<string, unknown> = {}): Socket =>
  io(url, { auth: { token } as Record<string, unknown>, transports: ['websocket'], forceNew: true, reconnection: false, ...extra });

/**
 * The admin socket: a session from POST /api/admin/login when the server has it, otherwise the
 * older `auth: { password }` (a server without the endpoint answers 404, or serves the app for it).
 */
async function adminSocket(url: string, password: string): Promise<{ socket: Socket; via: 'session' | 'password'; login: string }> {
  const r = await postJson(url, '/api/admin/login', { password });
  if (r.status === 401 || r.status === 429) throw new Error(`admin login refused: ${r.status} ${r.text.slice(0, 200)}`);
  let session: unknown;
  if (r.status === 200 && r.type.includes('json')) session = (JSON.parse(r.text) as { session?: unknown }).session;
  const via = typeof session === 'string' ? 'session' : 'password';
  const socket = io(`${url}/admin`, { auth: via === 'session' ? { session } : { password }, transports: ['websocket'], forceNew: true, reconnection: false });
  await connected(socket);
  return { socket, via, login: `${r.status} ${r.type || '-'}` };
}

interface Outcome {
  acked: boolean;
  reply?: unknown;
}

function send(s: Socket, c: FuzzCase, timeoutMs = ACK_TIMEOUT_MS): Promise<Outcome> {
  if (c.shape === 'msg-only') {
    s.emit(c.event, c.msg);
    return Promise.resolve({ acked: false });
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ acked: false }), timeoutMs);
    const ack = (...r: unknown[]) => {
      clearTimeout(timer);
      resolve({ acked: true, reply: r[0] });
    };
    if (c.shape === 'ack-only') s.emit(c.event, ack);
    else s.emit(c.event, c.msg, ...(c.extra ?? []), ack);
  });
}

/** What is wrong with the answer to one case, or null. */
function problem(c: FuzzCase, o: Outcome): string | null {
  if (c.shape === 'msg-only') return null;
  if (!o.acked) return `no ack within ${ACK_TIMEOUT_MS / 1000} s`;
  const r = o.reply as { ok?: unknown; error?: { code?: unknown; message?: unknown } } | null;
  if (!r || typeof r !== 'object') return `ack is not an object: ${preview(r)}`;
  if (r.ok === true) return c.expect === 'error' ? 'answered ok: true to a malformed message' : null;
  if (r.ok !== false) return `ack without ok: ${preview(r)}`;
  if (!r.error || typeof r.error.code !== 'string' || typeof r.error.message !== 'string') return `ok: false without error { code, message }: ${preview(r)}`;
  return null;
}

interface Failure {
  c: FuzzCase;
  why: string;
}

/** Groups failures by event, argument shape and problem, with a few inputs each, so the report stays readable. */
function summarize(failures: Failure[]): string {
  const groups = new Map<string, Failure[]>();
  for (const f of failures) {
    const k = `${f.c.event} [${f.c.shape}]: ${f.why}`;
    groups.set(k, [...(groups.get(k) ?? []), f]);
  }
  const lines = [...groups].map(([k, fs]) => {
    const examples = fs.slice(0, 3).map((f) => `      case ${f.c.index} (${f.c.what}): ${preview(f.c.msg, 120)}${f.c.extra ? ` extra=${preview(f.c.extra, 40)}` : ''}`);
    return `  ${k} ×${fs.length}\n${examples.join('\n')}`;
  });
  return `seed=${SEED} (rerun with FUZZ_SEED=${SEED}), ${failures.length} failing case(s):\n${lines.join('\n')}`;
}

/** Fires all cases at once (acks are answered in order per socket), then checks every answer. */
async function fuzz(s: Socket, cases: FuzzCase[]): Promise<{ failures: Failure[]; disconnects: string[] }> {
  const disconnects: string[] = [];
  const onDisconnect = (reason: string) => disconnects.push(reason);
  s.on('disconnect', onDisconnect);
  const outcomes = await Promise.all(cases.map((c) => send(s, c)));
  s.off('disconnect', onDisconnect);
  const failures: Failure[] = [];
  cases.forEach((c, i) => {
    const why = problem(c, outcomes[i]!);
    if (why) failures.push({ c, why });
  });
  return { failures, disconnects };
}

// ---- the suite -------------------------------------------------------------------------------

describe(`fuzz (seed ${SEED})`, () => {
  let server: RunningServer;
  let hospital: Socket;
  /** Connected before the hostile handshakes: a rate-limited address may refuse NEW connections afterwards, by design. */
  let survivor: Socket;
  let admin: Promise<Awaited<ReturnType<typeof adminSocket>>> | null = null;
  /** One admin session for both admin tests: the fuzzed change-password guesses may rate-limit further logins. */
  const adminOnce = () => (admin ??= adminSocket(server.url, ADMIN_PASSWORD).then((a) => (track(a.socket), a)));
  const crashes: string[] = [];
  const onUncaught = (e: unknown) => crashes.push(`uncaughtException: ${(e as Error)?.stack ?? String(e)}`);
  const onRejection = (e: unknown) => crashes.push(`unhandledRejection: ${(e as Error)?.stack ?? String(e)}`);
  const open: Socket[] = [];
  const track = (s: Socket) => (open.push(s), s);

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
    server = await startServer({
      dbPath: tempDb(),
      port: 0,
      host: '127.0.0.1',
      adminPassword: ADMIN_PASSWORD,
      // No round ever starts (minClients is out of reach); 1 MiB chunks let 1 MiB strings reach validation.
      federation: { minClients: 1_000, chunkBytes: MIB, model: { inputSize: 16 } },
    });
    hospital = track(hospitalSocket(server.url, server.createToken('fuzz-hospital')));
    survivor = track(hospitalSocket(server.url, server.createToken('survivor')));
    await Promise.all([connected(hospital), connected(survivor)]);
  }, 60_000);

  afterAll(async () => {
    for (const s of open) s.disconnect();
    await server?.close();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  });

  it(`hospital /: malformed payloads answered { ok: false, error } (${countLine(hospitalCases.normal)})`, async () => {
    const all = [...hospitalCases.normal.values()].flat();
    const { failures, disconnects } = await fuzz(hospital, all);
    console.log(`[fuzz] hospital events: ${countLine(hospitalCases.normal)}; ${failures.length} failing`);
    // Status has no ack: the malformed ones must change nothing (the next ack'd message is the barrier).
    const barrier = await send(hospital, { event: 'update-end', index: 0, shape: 'msg+ack', msg: {}, expect: 'error', what: 'barrier' });
    expect(barrier.acked, 'the connection still answers after the status fuzz').toBe(true);
    const statuses = hospitalCases.normal.get('status')!;
    if (statuses.every((c) => c.expect === 'error')) {
      const me = server.coordinator.snapshot([]).hospitals.find((h) => h.name === 'fuzz-hospital');
      expect(me?.status ?? null, 'a malformed status changed the hospital view').toBeNull();
    }
    expect(disconnects, 'the server closed the fuzzed connection').toEqual([]);
    expect(crashes).toEqual([]);
    expect(failures, summarize(failures)).toEqual([]);
  }, 60_000);

  it(`hospital /: extra arguments and a missing payload still get their ack, the last function argument (${countLine(hospitalCases.odd)})`, async () => {
    const s = track(hospitalSocket(server.url, server.createToken('fuzz-odd')));
    await connected(s);
    const { failures, disconnects } = await fuzz(s, [...hospitalCases.odd.values()].flat());
    expect(disconnects).toEqual([]);
    expect(crashes).toEqual([]);
    expect(failures, summarize(failures)).toEqual([]);
  }, 60_000);

  const RAW = [...RAW_PACKETS.map((p) => ({ level: 'socket.io', p })), ...RAW_ENGINE_PACKETS.map((p) => ({ level: 'engine.io', p }))];
  it(`hospital /: ${RAW_PACKETS.length} raw socket.io and ${RAW_ENGINE_PACKETS.length} raw engine.io packets are refused (connection closed) or ignored (it still answers)`, async () => {
    const bad: string[] = [];
    const outcomes = new Map<string, number>();
    const seen: string[] = [];
    for (let i = 0; i < RAW.length; i += 10) {
      await Promise.all(
        RAW.slice(i, i + 10).map(async ({ level, p }, j) => {
          const s = track(hospitalSocket(server.url, server.createToken(`raw-${i + j}`)));
          await connected(s);
          const closed = new Promise<string>((r) => s.once('disconnect', (reason) => r(`closed (${reason})`)));
          if (level === 'socket.io') s.io.engine.write(p);
          else (s.io.engine as unknown as { transport: { ws: { send(d: string): void } } }).transport.ws.send(p);
          const probe = send(s, { event: 'hello', index: 0, shape: 'msg+ack', msg: { backend: 42 }, expect: 'error', what: 'probe' }, 3_000).then((o) =>
            o.acked ? 'still answers' : 'hung: neither closed nor answering',
          );
          const outcome = await Promise.race([closed, probe]);
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          seen.push(`${level} ${preview(p, 50)} → ${outcome}`);
          // "1" is the client leaving the namespace: the server rightly answers nothing on it after that.
          if (outcome.startsWith('hung') && !(level === 'socket.io' && p === '1')) bad.push(`${level} ${preview(p, 80)} → ${outcome}`);
          s.disconnect();
        }),
      );
    }
    console.log(`[fuzz] raw packets: ${[...outcomes].map(([o, n]) => `${o}×${n}`).join(', ')}`);
    if (process.env.FUZZ_VERBOSE) console.log(seen.join('\n'));
    expect(await get(server.url, '/healthz')).toBe(200);
    expect(crashes).toEqual([]);
    expect(bad, `seed=${SEED}:\n${bad.join('\n')}`).toEqual([]);
  }, 60_000);

  it('hospital /: a message over the transport limit closes that connection only; the server stays up', async () => {
    const s = track(hospitalSocket(server.url, server.createToken('fuzz-oversize')));
    await connected(s);
    const closed = new Promise<string>((r) => s.once('disconnect', (reason) => r(reason)));
    const o = send(s, { event: 'hello', index: 0, shape: 'msg+ack', msg: { backend: 'x'.repeat(4 * MIB) }, expect: 'error', what: '4 MiB' });
    const outcome = await Promise.race([closed.then((r) => `closed: ${r}`), o.then((x) => (x.acked ? 'answered' : 'hung'))]);
    expect(outcome).not.toBe('hung');
    // The other connection is untouched.
    const r = await send(hospital, { event: 'hello', index: 0, shape: 'msg+ack', msg: { backend: 7 }, expect: 'error', what: 'probe' });
    expect(problem({ event: 'hello', index: 0, shape: 'msg+ack', msg: null, expect: 'error', what: '' }, r)).toBeNull();
    expect(crashes).toEqual([]);
  }, 30_000);

  it(`admin /admin: malformed payloads answered { ok: false, error } (${countLine(adminCases.normal)})`, async () => {
    const { socket, via, login } = await adminOnce();
    console.log(`[fuzz] admin connected via ${via} (POST /api/admin/login answered ${login}); events: ${countLine(adminCases.normal)}`);
    const { failures, disconnects } = await fuzz(socket, [...adminCases.normal.values()].flat());
    const silent = ADMIN.filter((spec) => failures.filter((f) => f.c.event === spec.event && f.why.startsWith('no ack')).length === adminCases.normal.get(spec.event)!.filter((c) => c.shape !== 'msg-only').length);
    if (silent.length) console.log(`[fuzz] admin events that never acknowledge (unimplemented?): ${silent.map((s) => s.event).join(', ')}`);
    expect(disconnects).toEqual([]);
    expect(crashes).toEqual([]);
    expect(failures, summarize(failures)).toEqual([]);
  }, 60_000);

  it(`admin /admin: extra arguments and a missing payload still get their ack (${countLine(adminCases.odd)})`, async () => {
    const { socket } = await adminOnce();
    const { failures, disconnects } = await fuzz(socket, [...adminCases.odd.values()].flat());
    expect(disconnects).toEqual([]);
    expect(crashes).toEqual([]);
    expect(failures, summarize(failures)).toEqual([]);
  }, 60_000);

  it(`HTTP: ${HTTP_CASES.length} malformed requests (${MALFORMED_PATHS.length + RAW_BYTE_PATHS.length + 24} paths) each get a status; /healthz stays 200`, async () => {
    const bad: string[] = [];
    const tally = new Map<number | string, number>();
    for (let i = 0; i < HTTP_CASES.length; i += 8) {
      const batch = HTTP_CASES.slice(i, i + 8);
      const results = await Promise.all(batch.map((c) => rawHttp(server.port, c.raw)));
      results.forEach((r, j) => {
        tally.set(r.status ?? 'none', (tally.get(r.status ?? 'none') ?? 0) + 1);
        if (r.status === null || !ANSWERED(r.status)) bad.push(`${batch[j]!.name} → ${r.status ?? r.why}`);
      });
    }
    console.log(`[fuzz] HTTP statuses: ${[...tally].map(([s, n]) => `${s}×${n}`).join(' ')}`);
    expect(await get(server.url, '/healthz')).toBe(200);
    expect(crashes).toEqual([]);
    expect(bad, `seed=${SEED}: requests without a proper answer:\n${bad.join('\n')}`).toEqual([]);
  }, 60_000);

  it('hostile handshakes: junk enrolment tokens and admin credentials are refused with an error, nothing crashes', async () => {
    // `survivor`, connected since the start, keeps working through all of this.
    const junk: unknown[] = [undefined, null, 42, '', 'fwd_', 'x'.repeat(100_000), { $ne: null }, ['fwd_x'], true, '../../etc/passwd', 'fwd_\u0000'];
    const refused = await Promise.all(
      junk.map(async (token) => {
        const s = track(hospitalSocket(server.url, token));
        return connected(s).then(() => 'connected!', (e: Error) => e.message);
      }),
    );
    for (const [i, m] of refused.entries()) expect(m, `token ${preview(junk[i])}`).toMatch(/unknown or revoked|too many/i);
    const adminJunk: Record<string, unknown>[] = [{}, { password: 123 }, { password: '' }, { password: 'x'.repeat(100_000) }, { session: 'nope' }, { session: { $ne: 1 } }, { password: ['pw'] }];
    const adminRefused = await Promise.all(
      adminJunk.map(async (auth) => {
        const s = track(io(`${server.url}/admin`, { auth, transports: ['websocket'], forceNew: true, reconnection: false }));
        return connected(s).then(() => 'connected!', (e: Error) => e.message);
      }),
    );
    for (const [i, m] of adminRefused.entries()) expect(m, `admin auth ${preview(adminJunk[i])}`).not.toBe('connected!');
    for (const body of [{}, { password: 42 }, { password: 'x'.repeat(2_000) }, [], 'pw']) {
      const r = await postJson(server.url, '/api/admin/login', body);
      expect(r.status, `POST /api/admin/login ${preview(body)}`).not.toBe(500);
      if (r.type.includes('json')) expect(JSON.parse(r.text)).not.toHaveProperty('session');
    }
    const ok = await send(survivor, { event: 'hello', index: 0, shape: 'msg+ack', msg: { backend: 'cpu', trainSamples: 10, testSamples: 5 }, expect: 'any', what: 'valid' });
    expect((ok.reply as { ok?: boolean } | undefined)?.ok).toBe(true);
    expect(crashes).toEqual([]);
  }, 60_000);

  it('after the fuzzing the server still works: a well-formed hello is answered ok, /healthz is 200, nothing leaked', async () => {
    expect(survivor.connected, 'the survivor connection is still open').toBe(true);
    const r = await send(survivor, { event: 'hello', index: 0, shape: 'msg+ack', msg: { backend: 'cpu', trainSamples: 12, testSamples: 6 }, expect: 'any', what: 'valid' });
    expect(r.acked).toBe(true);
    expect(r.reply).toMatchObject({ ok: true, hospital: 'survivor' });
    expect(await get(server.url, '/healthz')).toBe(200);
    // The pollution payloads set own "__proto__"/"constructor" keys; none may reach a prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(crashes, crashes.join('\n')).toEqual([]);
  }, 30_000);
});
