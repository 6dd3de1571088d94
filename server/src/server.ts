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
  createStudySchema,
  createTokenSchema,
  endRoundSchema,
  enrolHospitalSchema,
  evaluationSchema,
  federationConfigSchema,
  helloSchema,
  hospitalStatusSchema,
  parseMessage,
  revokeTokenSchema,
  setDeadlineSchema,
  skipHospitalSchema,
  studyControlSchema,
  toUint8Array,
  updateStudySchema,
  watchStudySchema,
  updateBeginSchema,
  updateChunkSchema,
  updateEndSchema,
  receiptFields,
  isExportName,
  secaggKeysSchema,
  secaggRevealSchema,
  secaggSharesSchema,
  isHospitalExportName,
  type AdminToServer,
  type ExportName,
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
import { Studies } from './studies';
import { ExportUnavailableError, exportStudyFile } from './study-export';

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
  /**
   * Called with every message a hospital sent that passed validation (binary fields as their
   * length): the server-side record that the hospitals' receipts are checked against.
   */
  recordReceived?: (entry: ReceivedMessage) => void;
  /** Failed-attempt limits (tests shorten them). */
  limits?: { handshake?: FailureLimitOptions; adminLogin?: FailureLimitOptions };
}

export interface ReceivedMessage {
  at: number;
  study: string;
  hospital: string;
  message: string;
  fields: Record<string, unknown>;
}

export interface RunningServer {
  url: string;
  port: number;
  /** The start flags' study, and its coordinator. */
  config: FederationConfig;
  coordinator: Coordinator;
  /** Every study on this server (the start flags' one included). */
  studies: Studies;
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

  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  let closed = false;
  const room = (study: string) => `study:${study}`;
  const snapshotOf = (c: Coordinator) => c.snapshot(store.tokens(c.config.id), store.enrolled(c.config.id));
  const studyList = () => ({ studies: studies.summaries(), hospitals: store.hospitalsWithTokens() });
  /** Progress events arrive per batch; the dashboard needs a few frames a second, not hundreds. */
  const throttled = (key: string, send: () => void) => {
    if (pending.has(key) || closed) return;
    pending.set(
      key,
      setTimeout(() => {
        pending.delete(key);
        send();
      }, 150),
    );
  };
  const broadcast = (study: string) => {
    throttled(study, () => {
      const c = studies.get(study);
      if (c) admin.to(room(study)).emit('snapshot', snapshotOf(c));
    });
    throttled(' studies', () => admin.emit('studies', studyList()));
  };
  const studies = new Studies(store, (c, status) => new Coordinator(c, store, () => broadcast(c.id), audit, status), config);
  const coordinator = studies.get(config.id)!;
  for (const note of notes) coordinator.info(note);

  io.use((socket, next) => {
    void (async () => {
      const address = socket.handshake.address;
      // A blocked address is refused before its token is even looked at.
      const wait = await handshakeLimits.retryAfter(address);
      if (wait > 0) return next(new Error(`too many failed connection attempts from this address: try again in ${wait} s`));
      const { token, study } = socket.handshake.auth as { token?: unknown; study?: unknown };
      const tokenHash = typeof token === 'string' && token.length <= 256 ? hashToken(token) : null;
      const found = tokenHash ? store.findToken(tokenHash) : undefined;
      if (!found) {
        await handshakeLimits.failed(address);
        const blocked = await handshakeLimits.retryAfter(address);
        if (blocked > 0) {
          // One line per block, not per attempt: a flood of wrong tokens must not flush the admin's log.
          coordinator.warn(`refusing ${address} for ${blocked} s after repeated wrong enrolment tokens`);
          audit(`address ${address}`, 'handshake-blocked', `${blocked} s after repeated wrong enrolment tokens`);
        }
        return next(finalRefusal('unknown or revoked enrolment token: ask the federation admin for a new one'));
      }
      await handshakeLimits.succeeded(address);
      const chosen = chooseStudy(found.hospital, study);
      if (typeof chosen === 'string') return next(finalRefusal(chosen));
      socket.data.hospital = found.hospital;
      socket.data.tokenHash = tokenHash;
      socket.data.study = chosen.config.id;
      next();
    })().catch((e: unknown) => next(e instanceof Error ? e : new Error(String(e))));
  });
  /**
   * The study a hospital's connection is for: the one it names, or, when it names none (Node
   * clients of one study), its only open study. A string is the refusal, in plain words.
   */
  const chooseStudy = (hospital: string, asked: unknown): Coordinator | string => {
    const open = studies.forHospital(hospital);
    if (asked !== undefined) {
      const c = typeof asked === 'string' ? open.find((s) => s.config.id === asked) : undefined;
      return c ?? `${hospital} is not enrolled in an open study called ${String(asked).slice(0, 80)}: ask the federation admin`;
    }
    const running = open.filter((c) => c.lifecycle === 'running');
    if (open.length === 1) return open[0]!;
    if (running.length === 1) return running[0]!;
    if (open.length === 0) return `${hospital} is not enrolled in any open study yet: ask the federation admin`;
    return `${hospital} takes part in several studies (${open.map((c) => c.config.id).join(', ')}): choose one`;
  };
  io.on('connection', (socket) => {
    const c = studies.get(socket.data.study as string);
    if (c) wireHospital(socket, c, options.recordReceived);
    else socket.disconnect(true);
  });

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
    // Until the admin picks a study, the page shows the start flags' one.
    void socket.join(room(config.id));
    socket.emit('studies', studyList());
    socket.emit('snapshot', snapshotOf(coordinator));
    /** The study a message names, or a refusal that names it. */
    const study = (id: string) => studies.get(id) ?? null;
    const noStudy = (id: string) => ({ ok: false, error: { code: 'bad-message', message: `no study ${id}` } });
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
    onAdmin('watch-study', watchStudySchema, ({ study: id }) => {
      const c = study(id);
      if (!c) return noStudy(id);
      for (const r of socket.rooms) if (r.startsWith('study:')) void socket.leave(r);
      void socket.join(room(id));
      socket.emit('snapshot', snapshotOf(c));
      return { ok: true };
    });
    onAdmin('create-study', createStudySchema, async ({ settings }) => {
      const r = await studies.create(settings);
      if (r.ok) {
        audit(who, 'study-created', `${r.id} "${settings.name}"${r.calibrated ? `; z = ${r.calibrated.noiseMultiplier} calibrated for ε ≤ ${settings.privacy?.targetEpsilon}` : ''}`);
        broadcast(r.id);
      }
      return r;
    });
    onAdmin('update-study', updateStudySchema, async ({ study: id, settings }) => {
      const r = await studies.update(id, settings);
      if (r.ok) {
        audit(who, 'study-changed', `${id}: ${JSON.stringify(settings)}`);
        studies.get(id)!.info('settings changed by the admin; hospitals review the new plan before joining again');
        broadcast(id);
      }
      return r;
    });
    onAdmin('study-control', studyControlSchema, ({ study: id, action }) => {
      const r = studies.control(id, action);
      audit(who, `study-${action}`, `${id}${r.ok ? '' : `: refused (${r.error.message})`}`);
      broadcast(id);
      return r;
    });
    onAdmin('enrol-hospital', enrolHospitalSchema, ({ study: id, hospital, enrolled }) => {
      const c = study(id);
      if (!c) return noStudy(id);
      if (!store.hospitalsWithTokens().includes(hospital)) {
        return { ok: false, error: { code: 'bad-message', message: `${hospital} has no enrolment token yet: create one for it in this study` } };
      }
      const changed = store.setEnrolled(id, hospital, enrolled);
      if (!enrolled) {
        // Taken out: its connection to this study closes, and it cannot connect again.
        for (const s of io.sockets.sockets.values()) {
          if (s.data.study === id && s.data.hospital === hospital) {
            s.emit('protocol-error', { code: 'unauthorized', message: `the federation admin took ${hospital} out of this study` });
            s.disconnect(true);
          }
        }
      }
      if (changed) {
        audit(who, enrolled ? 'hospital-enrolled' : 'hospital-unenrolled', `${hospital} in ${id}`);
        c.info(`${hospital} ${enrolled ? 'enrolled in' : 'taken out of'} this study`);
      }
      broadcast(id);
      return { ok: true };
    });
    onAdmin('create-token', createTokenSchema, ({ study: id, hospital }) => {
      const c = study(id);
      if (!c) return noStudy(id);
      const token = newToken();
      const tokenId = store.addToken(id, hospital, hashToken(token));
      c.info(`enrolment token created for ${hospital}`);
      audit(who, 'token-created', `${hospital} in ${id} (token ${tokenId})`);
      broadcast(id);
      return { ok: true, token, id: tokenId };
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
      for (const c of studies.all()) broadcast(c.config.id);
      audit(who, 'token-revoked', `token ${id}${closed ? `; ${closed} connection(s) closed` : ''}`);
      return { ok: true };
    });
    onAdmin('end-round', endRoundSchema, ({ study: id, round }) => {
      const c = study(id);
      if (!c) return noStudy(id);
      const r = c.endRound(round);
      audit(who, 'round-ended', `${id} round ${round}: ${r.ok ? r.outcome : r.error.message}`);
      return r;
    });
    onAdmin('skip-hospital', skipHospitalSchema, ({ study: id, hospital, skip }) => {
      const c = study(id);
      if (!c) return noStudy(id);
      if (!store.enrolled(id).includes(hospital)) return { ok: false, error: { code: 'bad-message', message: `no hospital named ${hospital} is enrolled in ${id}` } };
      audit(who, skip ? 'hospital-skipped' : 'hospital-readmitted', `${hospital} in ${id}`);
      return c.skipHospital(hospital, skip);
    });
    onAdmin('set-deadline', setDeadlineSchema, ({ study: id, round, seconds }) => {
      const c = study(id);
      if (!c) return noStudy(id);
      const r = c.setDeadline(round, seconds);
      audit(who, 'deadline-set', `${id} round ${round}: ${r.ok ? new Date(r.deadline).toISOString() : r.error.message}`);
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
   * GET /api/studies with `Authorization: Bearer <token>`: the hospital the token belongs to and the
   * open studies it is enrolled in, each with its settings, plan and plan digest (what the
   * hospital reviews before joining) and its privacy budget. Wrong tokens count like wrong-token handshakes.
   */
  /** The hospital whose enrolment token the request carries, or null once a 401/429 has been sent. */
  const hospitalOfRequest = async (req: IncomingMessage, res: ServerResponse): Promise<string | null> => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const wait = await handshakeLimits.retryAfter(address);
    if (wait > 0) {
      sendJson(res, 429, { error: `too many wrong enrolment tokens: try again in ${wait} s` }, { 'retry-after': String(wait) });
      return null;
    }
    const auth = req.headers.authorization ?? '';
    const found = auth.startsWith('Bearer ') && auth.length <= 300 ? store.findToken(hashToken(auth.slice(7))) : undefined;
    if (!found) {
      await handshakeLimits.failed(address);
      sendJson(res, 401, { error: 'unknown or revoked enrolment token: ask the federation admin for a new one' });
      return null;
    }
    await handshakeLimits.succeeded(address);
    return found.hospital;
  };

  const studiesForToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const hospital = await hospitalOfRequest(req, res);
    if (hospital === null) return;
    const open = studies.forHospital(hospital).map((c) => ({
      ...studies.summary(c),
      config: c.config,
      plan: c.plan,
      planDigest: c.planDigest,
      privacy: c.hospitalPrivacy(),
    }));
    sendJson(res, 200, { hospital, studies: open }, { 'cache-control': 'no-store' });
  };

  /**
   * GET /api/studies/<id>/<file> with the hospital's enrolment token: the study's model and this
   * hospital's own copy of the privacy card, for a study it is enrolled in.
   */
  const hospitalExport = async (req: IncomingMessage, res: ServerResponse, id: string, name: ExportName): Promise<void> => {
    const hospital = await hospitalOfRequest(req, res);
    if (hospital === null) return;
    const c = studies.forHospital(hospital).find((s) => s.config.id === id);
    if (!c) return sendJson(res, 404, { error: `${hospital} is not enrolled in a study ${id}` });
    await sendExport(res, c, name, hospital);
    audit(`hospital ${hospital}`, 'study-exported', `${id}: ${name}`);
  };

  const sendExport = async (res: ServerResponse, c: Coordinator, name: ExportName, forHospital: string | null): Promise<void> => {
    let file;
    try {
      file = await exportStudyFile(c, store, name, forHospital);
    } catch (e) {
      // A file this study's model cannot be exported as (e.g. an op ONNX lacks): say which, not 500.
      if (e instanceof ExportUnavailableError) return sendJson(res, e.status, { error: e.message });
      throw e;
    }
    res.writeHead(200, {
      'content-type': file.type,
      'content-disposition': `attachment; filename="${c.config.id}-${file.filename}"`,
      'cache-control': 'no-store',
    });
    res.end(file.body);
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

  /** GET /api/admin/studies/<id>/<file> with the admin session: a study's exports (study-export.ts). */
  const studyExport = async (req: IncomingMessage, res: ServerResponse, id: string, name: ExportName): Promise<void> => {
    const auth = req.headers.authorization ?? '';
    if (verifySession(sessionSecret(), auth.startsWith('Bearer ') ? auth.slice(7) : null) === null) {
      return sendJson(res, 401, { error: 'admin session missing, expired or ended: log in again' });
    }
    const c = studies.get(id);
    if (!c) return sendJson(res, 404, { error: `no study ${id}` });
    await sendExport(res, c, name, null);
    audit(`admin ${req.socket.remoteAddress ?? 'unknown'}`, 'study-exported', `${id}: ${name}`);
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
      res.end(JSON.stringify({ ok: true, federation: config.id, phase: coordinator.phase, round: coordinator.round, studies: studies.all().length }));
      return;
    }
    if (req.url === '/api/studies') {
      studiesForToken(req, res).catch((e: unknown) => {
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
    const exported = /^\/api\/admin\/studies\/([a-z0-9-]{1,63})\/([a-z.-]+)$/.exec(req.url ?? '');
    const exportName = exported?.[2];
    if (exported && req.method === 'GET' && exportName !== undefined && isExportName(exportName)) {
      studyExport(req, res, exported[1]!, exportName).catch((e: unknown) => {
        coordinator.record('error', `export ${exported[1]}/${exported[2]} failed: ${(e as Error).message}`);
        if (!res.headersSent) sendJson(res, 500, { error: `export failed: ${(e as Error).message}` });
      });
      return;
    }
    const hospitalFile = /^\/api\/studies\/([a-z0-9-]{1,63})\/([a-z.-]+)$/.exec(req.url ?? '');
    const hospitalName = hospitalFile?.[2];
    if (hospitalFile && req.method === 'GET' && hospitalName !== undefined && isHospitalExportName(hospitalName)) {
      hospitalExport(req, res, hospitalFile[1]!, hospitalName).catch((e: unknown) => {
        coordinator.record('error', `hospital export ${hospitalFile[1]}/${hospitalFile[2]} failed: ${(e as Error).message}`);
        if (!res.headersSent) sendJson(res, 500, { error: `export failed: ${(e as Error).message}` });
      });
      return;
    }
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
    studies.stopAll();
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
    studies,
    store,
    generatedAdminPassword,
    createToken(hospital: string) {
      const token = newToken();
      store.addToken(config.id, hospital, hashToken(token));
      return token;
    },
    async close() {
      closed = true;
      studies.stopAll();
      for (const t of pending.values()) clearTimeout(t);
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

/** A handshake refusal that retrying cannot change: the client is told not to try again (`data.final`). */
function finalRefusal(message: string): Error {
  return Object.assign(new Error(message), { data: { final: true } });
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

function wireHospital(socket: HospitalSocket, coordinator: Coordinator, record?: (entry: ReceivedMessage) => void): void {
  const received = (message: string, msg: object) =>
    record?.({
      at: Date.now(),
      study: coordinator.config.id,
      hospital: socket.data.hospital as string,
      message,
      fields: receiptFields(msg).fields,
    });
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
      received(event, parsed.value as object);
      try {
        reply(handle(parsed.value));
      } catch (e) {
        reply(coordinator.reject(link, event, { code: 'internal', message: (e as Error).message }));
      }
    }) as never);
  };

  on('hello', helloSchema, (msg) => coordinator.hello(link, msg));
  on('update-begin', updateBeginSchema, (msg) => coordinator.beginUpdate(link, msg));
  on('update-chunk', updateChunkSchema, (msg) => coordinator.addChunk(link, { ...msg, data: toUint8Array(msg.data) }));
  on('update-end', updateEndSchema, (msg) => coordinator.endUpdate(link, msg));
  on('evaluation', evaluationSchema, (msg) => coordinator.evaluation(link, msg));
  on('secagg-keys', secaggKeysSchema, (msg) => coordinator.secaggKeys(link, msg));
  on('secagg-shares', secaggSharesSchema, (msg) => coordinator.secaggShares(link, msg));
  on('secagg-reveal', secaggRevealSchema, (msg) => coordinator.secaggReveal(link, msg));
  socket.on('status', (msg: unknown) => {
    const parsed = parseMessage(hospitalStatusSchema, msg);
    if (!parsed.ok) return;
    received('status', parsed.value);
    coordinator.status(link, parsed.value);
  });
}
