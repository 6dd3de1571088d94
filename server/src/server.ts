import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import helmet from 'helmet';
import { Server, type Namespace, type Socket } from 'socket.io';
import type { ZodType } from 'zod';
import {
  adminLoginSchema,
  auditQuerySchema,
  changePasswordSchema,
  createTokenSchema,
  endRoundSchema,
  evaluationSchema,
  federationConfigSchema,
  helloSchema,
  hospitalStatusSchema,
  parseMessage,
  revokeTokenSchema,
  setDeadlineSchema,
  skipHospitalSchema,
  toUint8Array,
  updateBeginSchema,
  updateChunkSchema,
  updateEndSchema,
  type AdminToServer,
  type FederationConfig,
  type HospitalToServer,
  type ModelSpec,
  type ServerToAdmin,
  type ServerToHospital,
  type TrainingConfig,
} from '@fedward/protocol';
import { createModel, activateBackend } from '@fedward/models';
import { hashPassword, newPassword, newSessionSecret, signSession, verifyPassword, verifySession } from './admin-auth';
import { Coordinator, type AuditSink, type HospitalLink } from './coordinator';
import { ADMIN_LOGIN_LIMITS, FailureLimits, HANDSHAKE_LIMITS, type FailureLimitOptions } from './failure-limits';
import { hashToken, newToken } from './secrets';
import { auditCsv } from './audit-log';
import { resolveFederation } from './federation-settings';
import { serveApp } from './static-files';
import { Store } from './store';

export interface FederationOverrides extends Partial<Omit<FederationConfig, 'model' | 'training'>> {
  model?: Partial<ModelSpec>;
  training?: Partial<TrainingConfig>;
}

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  dbPath: string;
  /** Used only the first time (no admin credential stored yet); otherwise one is generated and printed. */
  adminPassword?: string;
  /** Used only when the database has no federation yet. */
  federation?: FederationOverrides;
  /** Folder holding apps/hospital/dist and apps/admin/dist. */
  appsDir?: string;
  /**
   * Browser origins (scheme://host[:port]) allowed to open a socket besides the server's own
   * (e.g. the app's public origin behind a TLS proxy that rewrites Host). Clients that send no
   * Origin (Node hospitals) are let through: the Origin check is against pages on other sites.
   */
  allowedOrigins?: string[];
  /** Start a new federation in this database instead of the stored one (see federation-settings.ts). */
  reset?: boolean;
  /** Failed-attempt limits (tests shorten them). */
  limits?: { handshake?: FailureLimitOptions; adminLogin?: FailureLimitOptions };
}

export interface RunningServer {
  url: string;
  port: number;
  config: FederationConfig;
  coordinator: Coordinator;
  store: Store;
  /** Set only when this start generated the admin password. */
  generatedAdminPassword: string | null;
  createToken(hospital: string): string;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

export const DEFAULT_FEDERATION: FederationConfig = {
  id: 'demo',
  name: 'Demo federation: lesion detection',
  rounds: 5,
  minClients: 3,
  roundDeadlineMs: 10 * 60_000,
  maxUpdateBytes: 64 * 1024 * 1024,
  chunkBytes: 256 * 1024,
  model: { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' },
  training: { epochs: 4, batchSize: 16, learningRate: 0.01 },
};

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const store = new Store(options.dbPath);
  let generatedAdminPassword: string | null;
  let config: FederationConfig;
  let notes: string[];
  try {
    generatedAdminPassword = await ensureAdminCredential(store, options.adminPassword);
    ({ config, notes } = await resolveFederation(store, options.federation ?? {}, { ...(options.reset && { reset: true }), create: createFederation }));
  } catch (e) {
    store.close(); // releases the database lock, so this process can open it again
    throw e;
  }
  const handshakeLimits = new FailureLimits(options.limits?.handshake ?? HANDSHAKE_LIMITS);
  const loginLimits = new FailureLimits(options.limits?.adminLogin ?? ADMIN_LOGIN_LIMITS);
  // Audit entries are written at once, except 'soon' ones (joins, leaves), which wait up to 20 ms to
  // share one transaction; any other entry, any read and close() write the waiting ones first.
  const waitingAudit: { at: number; actor: string; action: string; detail: string }[] = [];
  let auditTimer: ReturnType<typeof setTimeout> | null = null;
  let storeClosed = false;
  const flushAudit = () => {
    if (auditTimer) clearTimeout(auditTimer);
    auditTimer = null;
    if (waitingAudit.length && !storeClosed) store.appendAudits(waitingAudit.splice(0));
  };
  const audit: AuditSink = (actor, action, detail = '', { soon = false } = {}) => {
    waitingAudit.push({ at: Date.now(), actor, action, detail });
    if (!soon) flushAudit();
    else auditTimer ??= setTimeout(flushAudit, 20);
  };

  const http: HttpServer = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 });
  const io = new Server<HospitalToServer, ServerToHospital>(http, {
    // Uploads arrive in chunks, so the transport limit only needs room for one chunk.
    maxHttpBufferSize: config.chunkBytes * 2 + 64 * 1024,
    serveClient: false,
    // Heartbeats: a hospital whose connection died silently is dropped within ~35 s (15 + 20).
    pingInterval: 15_000,
    pingTimeout: 20_000,
    allowRequest: (req, done) => done(null, originAllowed(req, options.allowedOrigins ?? [])),
    // Upgrades to other paths are answered below (400), not dropped without a word.
    destroyUpgrade: false,
  });
  const admin = io.of('/admin') as unknown as Namespace<AdminToServer, ServerToAdmin>;

  let pending: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  const tokenViews = () => store.tokens(config.id);
  const broadcast = () => {
    // Progress events arrive per batch; the dashboard needs a few frames a second, not hundreds.
    if (pending || closed) return;
    pending = setTimeout(() => {
      pending = null;
      admin.emit('snapshot', coordinator.snapshot(tokenViews()));
    }, 150);
  };
  const coordinator = new Coordinator(config, store, broadcast, audit);
  for (const note of notes) coordinator.info(note);

  io.use((socket, next) => {
    void (async () => {
      const address = socket.handshake.address;
      // A blocked address is refused before its token is even looked at.
      const wait = await handshakeLimits.retryAfter(address);
      if (wait > 0) return next(new Error(`too many failed connection attempts from this address: try again in ${wait} s`));
      const token = (socket.handshake.auth as { token?: unknown }).token;
      const tokenHash = typeof token === 'string' && token.length <= 256 ? hashToken(token) : null;
      const found = tokenHash ? store.findToken(tokenHash) : undefined;
      if (!found || found.federationId !== config.id) {
        await handshakeLimits.failed(address);
        const blocked = await handshakeLimits.retryAfter(address);
        if (blocked > 0) {
          // One line per block, not per attempt: a flood of wrong tokens must not flush the admin's log.
          coordinator.warn(`refusing ${address} for ${blocked} s after repeated wrong enrolment tokens`);
          audit(`address ${address}`, 'handshake-blocked', `${blocked} s after repeated wrong enrolment tokens`);
        }
        return next(new Error('unknown or revoked enrolment token: ask the federation admin for a new one'));
      }
      await handshakeLimits.succeeded(address);
      socket.data.hospital = found.hospital;
      socket.data.tokenHash = tokenHash;
      next();
    })().catch((e: unknown) => next(e instanceof Error ? e : new Error(String(e))));
  });
  io.on('connection', (socket) => wireHospital(socket, coordinator));

  const sessionSecret = () => store.getSetting('session_secret')!;
  admin.use((socket, next) => {
    const expiresAt = verifySession(sessionSecret(), (socket.handshake.auth as { session?: unknown }).session);
    if (expiresAt === null) return next(new Error('admin session missing, expired or ended: log in again'));
    // The socket ends with its session; the page then asks for the password again.
    const timer = setTimeout(() => endSession(socket, 'your admin session expired: log in again'), Math.min(expiresAt - Date.now(), 2 ** 31 - 1));
    socket.on('disconnect', () => clearTimeout(timer));
    next();
  });
  const endSession = (socket: Socket, reason: string) => {
    socket.emit('session-ended', { reason });
    socket.disconnect(true);
  };
  admin.on('connection', (socket) => {
    const who = `admin ${socket.handshake.address}`;
    socket.emit('snapshot', coordinator.snapshot(tokenViews()));
    /** Validates, answers every call (the ack is the last argument, whatever comes before), and never throws. */
    const onAdmin = <T>(event: keyof AdminToServer, schema: ZodType<T>, handle: (msg: T) => object | Promise<object>) => {
      socket.on(event, ((...args: unknown[]) => {
        const last = args[args.length - 1];
        const ack = typeof last === 'function' ? (last as (r: unknown) => void) : () => {};
        const parsed = parseMessage(schema, typeof args[0] === 'function' ? undefined : args[0]);
        if (!parsed.ok) return ack({ ok: false, error: { code: 'bad-message', message: `${event}: ${parsed.reason}` } });
        Promise.resolve()
          .then(() => handle(parsed.value))
          .then(ack, (e: unknown) => {
            coordinator.record('error', `admin ${event} failed: ${(e as Error).message}`);
            ack({ ok: false, error: { code: 'internal', message: `${event} failed: ${(e as Error).message}` } });
          });
      }) as never);
    };
    onAdmin('create-token', createTokenSchema, ({ hospital }) => {
      const token = newToken();
      const id = store.addToken(config.id, hospital, hashToken(token));
      coordinator.info(`enrolment token created for ${hospital}`);
      audit(who, 'token-created', `${hospital} (token ${id})`);
      return { ok: true, token, id };
    });
    onAdmin('revoke-token', revokeTokenSchema, ({ id }) => {
      if (!store.revokeToken(id)) return { ok: false, error: { code: 'bad-message', message: `no active token with id ${id}` } };
      // A revoked token's open connections are closed at once: nothing more is accepted from them.
      let closed = 0;
      for (const s of io.sockets.sockets.values()) {
        if (s.data.tokenHash && !store.findToken(s.data.tokenHash as string)) {
          s.emit('protocol-error', { code: 'unauthorized', message: 'this enrolment token was revoked by the federation admin' });
          s.disconnect(true);
          closed += 1;
        }
      }
      coordinator.info(`enrolment token ${id} revoked${closed ? `; ${closed} connection(s) using it closed` : ''}`);
      audit(who, 'token-revoked', `token ${id}${closed ? `; ${closed} connection(s) closed` : ''}`);
      return { ok: true };
    });
    onAdmin('end-round', endRoundSchema, ({ round }) => {
      const r = coordinator.endRound(round);
      audit(who, 'round-ended', `round ${round}: ${r.ok ? r.outcome : r.error.message}`);
      return r;
    });
    onAdmin('skip-hospital', skipHospitalSchema, ({ hospital, skip }) => {
      const known = store.tokens(config.id).some((t) => t.hospital === hospital);
      if (!known) return { ok: false, error: { code: 'bad-message', message: `no hospital named ${hospital} is enrolled` } };
      audit(who, skip ? 'hospital-skipped' : 'hospital-readmitted', hospital);
      return coordinator.skipHospital(hospital, skip);
    });
    onAdmin('set-deadline', setDeadlineSchema, ({ round, seconds }) => {
      const r = coordinator.setDeadline(round, seconds);
      audit(who, 'deadline-set', `round ${round}: ${r.ok ? new Date(r.deadline).toISOString() : r.error.message}`);
      return r;
    });
    onAdmin('audit-log', auditQuerySchema, ({ limit }) => {
      flushAudit();
      return { ok: true, entries: store.auditEntries(limit ?? 200), verified: store.verifyAudit() };
    });
    onAdmin('change-password', changePasswordSchema, async ({ current, next }) => {
      const address = socket.handshake.address;
      const wait = await loginLimits.retryAfter(address);
      if (wait > 0) return { ok: false, error: { code: 'unauthorized', message: `too many wrong passwords: try again in ${wait} s` } };
      await loginLimits.failed(address);
      if (!(await verifyPassword(current, store.getSetting('admin_password')!))) {
        audit(who, 'password-change-failed', 'wrong current password');
        return { ok: false, error: { code: 'unauthorized', message: 'the current password is wrong' } };
      }
      await loginLimits.succeeded(address);
      store.setSetting('admin_password', await hashPassword(next));
      // A new secret ends every session, this one's included: everyone logs in with the new password.
      store.setSetting('session_secret', newSessionSecret());
      audit(who, 'password-changed');
      coordinator.info('the admin password was changed; every admin session was ended');
      setTimeout(() => {
        for (const s of admin.sockets.values()) endSession(s as unknown as Socket, 'the admin password was changed: log in with the new one');
      }, 0);
      return { ok: true };
    });
  });

  /**
   * GET /api/federation with `Authorization: Bearer <token>`: lets the hospital app check its token
   * and learn the model's input size before importing. Wrong tokens count like wrong-token handshakes.
   */
  const federationForToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = await handshakeLimits.retryAfter(address);
    if (wait > 0) return sendJson(res, 429, { error: `too many wrong enrolment tokens: try again in ${wait} s` }, { 'retry-after': String(wait) });
    const auth = req.headers.authorization ?? '';
    const found = auth.startsWith('Bearer ') && auth.length <= 300 ? store.findToken(hashToken(auth.slice(7))) : undefined;
    if (!found || found.federationId !== config.id) {
      await handshakeLimits.failed(address);
      return sendJson(res, 401, { error: 'unknown or revoked enrolment token: ask the federation admin for a new one' });
    }
    await handshakeLimits.succeeded(address);
    sendJson(res, 200, { hospital: found.hospital, config }, { 'cache-control': 'no-store' });
  };

  /** POST /api/admin/login: the password once, a signed session back; wrong guesses are limited. */
  const adminLogin = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = await loginLimits.retryAfter(address);
    if (wait > 0) return sendJson(res, 429, { error: `too many wrong passwords: try again in ${wait} s` }, { 'retry-after': String(wait) });
    const body = await readBody(req, 4096);
    let json: unknown;
    try {
      json = body === null ? undefined : JSON.parse(body);
    } catch {
      return sendJson(res, 400, { error: 'send JSON: { "password": "…" }' });
    }
    const parsed = parseMessage(adminLoginSchema, json);
    if (!parsed.ok) return sendJson(res, 400, { error: parsed.reason });
    // Counted before the slow hash, so a burst of parallel guesses cannot all pass the check first.
    await loginLimits.failed(address);
    if (!(await verifyPassword(parsed.value.password, store.getSetting('admin_password')!))) {
      coordinator.warn(`failed admin login from ${address}`);
      audit(`admin ${address}`, 'login-failed');
      return sendJson(res, 401, { error: 'wrong admin password' });
    }
    await loginLimits.succeeded(address);
    audit(`admin ${address}`, 'login');
    sendJson(res, 200, signSession(sessionSecret()), { 'cache-control': 'no-store' });
  };

  /** GET /api/admin/audit.csv with `Authorization: Bearer <session>`. */
  const auditCsvFile = (req: IncomingMessage, res: ServerResponse): void => {
    const auth = req.headers.authorization ?? '';
    if (verifySession(sessionSecret(), auth.startsWith('Bearer ') ? auth.slice(7) : null) === null) {
      return sendJson(res, 401, { error: 'admin session missing, expired or ended: log in again' });
    }
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="fedward-audit-${config.id}.csv"`,
      'cache-control': 'no-store',
    });
    flushAudit();
    res.end(auditCsv(store.auditEntries(1_000_000)));
  };

  // WebSocket (or h2c) upgrades outside Socket.io's path, and CONNECT, get a status line, not a silent close.
  http.on('upgrade', (req, socket) => {
    if (req.url?.startsWith('/socket.io/')) return;
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  http.on('connect', (_req, socket) => socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));

  const appsDir = options.appsDir ?? resolve(here, '../../apps');
  http.on('request', (req, res) => {
    try {
      answerHttp(req, res);
    } catch (e) {
      // No request may take the server down: answer 500 and say what happened in the log.
      coordinator.record('error', `HTTP ${req.method ?? '?'} ${(req.url ?? '?').slice(0, 200)} failed: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error');
    }
  });
  const answerHttp = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url?.startsWith('/socket.io/')) return; // Socket.io's own handler answers these.
    // helmet sets its headers synchronously and calls next at once.
    securityHeaders(req, res, () => {});
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, federation: config.id, phase: coordinator.phase, round: coordinator.round }));
      return;
    }
    if (req.url === '/api/federation') {
      federationForToken(req, res).catch((e: unknown) => {
        coordinator.record('error', `token check failed: ${(e as Error).message}`);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      });
      return;
    }
    if (req.url === '/api/admin/login' && req.method === 'POST') {
      adminLogin(req, res).catch((e: unknown) => {
        coordinator.record('error', `admin login failed: ${(e as Error).message}`);
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      });
      return;
    }
    if (req.url === '/api/admin/audit.csv') return auditCsvFile(req, res);
    if (req.url?.startsWith('/api/')) return sendJson(res, 404, { error: 'no such API' });
    if (req.url === '/admin') {
      res.writeHead(301, { location: '/admin/' }).end();
      return;
    }
    if (serveApp(resolve(appsDir, 'admin/dist'), '/admin/', req, res)) return;
    if (serveApp(resolve(appsDir, 'hospital/dist'), '/', req, res)) return;
    res.writeHead(404).end('not found');
  };

  await new Promise<void>((ok, fail) => {
    http.once('error', fail);
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  }).catch(async (e: unknown) => {
    // e.g. the port is in use: let go of everything, the database lock included.
    coordinator.stop();
    await new Promise<void>((ok) => io.close(() => ok()));
    store.close();
    throw e;
  });
  const port = (http.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    config,
    coordinator,
    store,
    generatedAdminPassword,
    createToken(hospital: string) {
      const token = newToken();
      store.addToken(config.id, hospital, hashToken(token));
      return token;
    },
    async close() {
      closed = true;
      coordinator.stop();
      if (pending) clearTimeout(pending);
      await new Promise<void>((ok) => io.close(() => ok()));
      flushAudit();
      storeClosed = true;
      store.close();
    },
  };
}

/**
 * Security headers on every HTTP answer (helmet): a CSP without inline script (TF.js needs
 * 'wasm-unsafe-eval' to compile its WebAssembly, and blob: scripts and workers for its threads), nosniff, no
 * referrer, no framing. HSTS is left to the TLS proxy in front (see the README); COEP is set on the
 * app files by static-files.ts.
 */
const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      'default-src': ["'self'"],
      // blob:: TF.js's wasm threads importScripts() a blob URL of their own glue code.
      'script-src': ["'self'", "'wasm-unsafe-eval'", 'blob:'],
      'worker-src': ["'self'", 'blob:'],
      'connect-src': ["'self'"],
      'img-src': ["'self'", 'data:', 'blob:'],
      // React writes style attributes (progress bars); no stylesheet or script comes inline.
      'style-src': ["'self'", "'unsafe-inline'"],
      'font-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
    },
  },
  crossOriginEmbedderPolicy: false,
  referrerPolicy: { policy: 'no-referrer' },
  strictTransportSecurity: false,
});

async function ensureAdminCredential(store: Store, password: string | undefined): Promise<string | null> {
  if (!store.getSetting('session_secret')) store.setSetting('session_secret', newSessionSecret());
  if (store.getSetting('admin_password')) return null;
  const chosen = password ?? newPassword();
  store.setSetting('admin_password', await hashPassword(chosen));
  return password ? null : chosen;
}

/**
 * Socket.io handshakes from browsers carry an Origin: it must be this server's own (the Host the
 * browser asked for) or one the operator allowed, so a page on another site cannot drive a stolen
 * token or session.
 */
function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  const url = URL.parse(origin);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.host === req.headers.host;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** The request body as text, or null when it is over `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(null);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function createFederation(store: Store, overrides: FederationOverrides): Promise<FederationConfig> {
  const config = federationConfigSchema.parse({
    ...DEFAULT_FEDERATION,
    ...overrides,
    model: { ...DEFAULT_FEDERATION.model, ...overrides.model },
    training: { ...DEFAULT_FEDERATION.training, ...overrides.training },
  });
  // The server builds round 0's weights itself so every hospital starts from the same model.
  await activateBackend(['cpu']);
  const model = createModel(config.model);
  store.createFederation(config, model.getWeights());
  model.dispose();
  return config;
}

type HospitalSocket = Socket<HospitalToServer, ServerToHospital>;

function wireHospital(socket: HospitalSocket, coordinator: Coordinator): void {
  const link: HospitalLink = {
    id: socket.id,
    emit: (event, ...args) => socket.emit(event, ...args),
    disconnect: () => socket.disconnect(true),
  };
  coordinator.attach(link, socket.data.hospital as string);
  socket.on('disconnect', () => coordinator.detach(link));
  // Every packet, heartbeats included, tells the admin when this hospital was last heard from.
  socket.conn.on('packet', () => coordinator.touch(link));

  /** Validates at the boundary; a bad message is answered with an error and changes nothing. */
  const on = <T>(
    event: keyof HospitalToServer,
    schema: ZodType<T>,
    handle: (msg: T) => object,
  ) => {
    socket.on(event, ((...args: unknown[]) => {
      // The ack is the last argument, however many come before it: every call gets its answer.
      const last = args[args.length - 1];
      const reply = typeof last === 'function' ? (last as (r: unknown) => void) : () => {};
      const parsed = parseMessage(schema, typeof args[0] === 'function' ? undefined : args[0]);
      if (!parsed.ok) return reply(coordinator.reject(link, event, { code: 'bad-message', message: parsed.reason }));
      try {
        reply(handle(parsed.value));
      } catch (e) {
        reply(coordinator.reject(link, event, { code: 'internal', message: (e as Error).message }));
      }
    }) as never);
  };

  on('hello', helloSchema, (msg) => ({ ok: true, ...coordinator.hello(link, msg) }));
  on('update-begin', updateBeginSchema, (msg) => coordinator.beginUpdate(link, msg));
  on('update-chunk', updateChunkSchema, (msg) => coordinator.addChunk(link, { ...msg, data: toUint8Array(msg.data) }));
  on('update-end', updateEndSchema, (msg) => coordinator.endUpdate(link, msg));
  on('evaluation', evaluationSchema, (msg) => coordinator.evaluation(link, msg));
  socket.on('status', (msg: unknown) => {
    const parsed = parseMessage(hospitalStatusSchema, msg);
    if (parsed.ok) coordinator.status(link, parsed.value);
  });
}
