import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import helmet from 'helmet';
import { Server, type Namespace, type Socket } from 'socket.io';
import type { ZodType } from 'zod';
import {
  createTokenSchema,
  evaluationSchema,
  federationConfigSchema,
  helloSchema,
  hospitalStatusSchema,
  parseMessage,
  revokeTokenSchema,
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
import { Coordinator, type HospitalLink } from './coordinator';
import { hashPassword, hashToken, newPassword, newToken, verifyPassword } from './secrets';
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
  const generatedAdminPassword = ensureAdminCredential(store, options.adminPassword);
  const config = store.currentFederation() ?? (await createFederation(store, options.federation ?? {}));

  const http: HttpServer = createServer();
  const io = new Server<HospitalToServer, ServerToHospital>(http, {
    // Uploads arrive in chunks, so the transport limit only needs room for one chunk.
    maxHttpBufferSize: config.chunkBytes * 2 + 64 * 1024,
    serveClient: false,
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
  const coordinator = new Coordinator(config, store, broadcast);

  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    const found = typeof token === 'string' ? store.findToken(hashToken(token)) : undefined;
    if (!found || found.federationId !== config.id) {
      coordinator.warn('refused a hospital connection: unknown or revoked enrolment token');
      return next(new Error('unknown or revoked enrolment token: ask the federation admin for a new one'));
    }
    socket.data.hospital = found.hospital;
    socket.data.tokenHash = hashToken(token as string);
    next();
  });
  io.on('connection', (socket) => wireHospital(socket, coordinator));

  admin.use((socket, next) => {
    const password = (socket.handshake.auth as { password?: unknown }).password;
    const stored = store.getSetting('admin_password');
    if (typeof password !== 'string' || !stored || !verifyPassword(password, stored)) {
      return next(new Error('wrong admin password'));
    }
    next();
  });
  admin.on('connection', (socket) => {
    socket.emit('snapshot', coordinator.snapshot(tokenViews()));
    socket.on('create-token', (msg, ack) => {
      if (typeof ack !== 'function') return;
      const parsed = parseMessage(createTokenSchema, msg);
      if (!parsed.ok) return ack({ ok: false, error: { code: 'bad-message', message: parsed.reason } });
      const token = newToken();
      const id = store.addToken(config.id, parsed.value.hospital, hashToken(token));
      coordinator.info(`enrolment token created for ${parsed.value.hospital}`);
      ack({ ok: true, token, id });
    });
    socket.on('revoke-token', (msg, ack) => {
      if (typeof ack !== 'function') return;
      const parsed = parseMessage(revokeTokenSchema, msg);
      if (!parsed.ok) return ack({ ok: false, error: { code: 'bad-message', message: parsed.reason } });
      if (!store.revokeToken(parsed.value.id)) {
        return ack({ ok: false, error: { code: 'bad-message', message: `no active token with id ${parsed.value.id}` } });
      }
      // A revoked token's open connections are closed at once: nothing more is accepted from them.
      let closed = 0;
      for (const s of io.sockets.sockets.values()) {
        if (s.data.tokenHash && !store.findToken(s.data.tokenHash as string)) {
          s.emit('protocol-error', { code: 'unauthorized', message: 'this enrolment token was revoked by the federation admin' });
          s.disconnect(true);
          closed += 1;
        }
      }
      coordinator.info(`enrolment token ${parsed.value.id} revoked${closed ? `; ${closed} connection(s) using it closed` : ''}`);
      ack({ ok: true });
    });
  });

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
    if (req.url?.startsWith('/socket.io')) return; // Socket.io's own handler answers these.
    // helmet sets its headers synchronously and calls next at once.
    securityHeaders(req, res, () => {});
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, federation: config.id, phase: coordinator.phase, round: coordinator.round }));
      return;
    }
    if (req.url === '/api/federation') {
      // Lets the hospital app check its token and learn the model's input size before importing.
      const auth = req.headers.authorization ?? '';
      const found = auth.startsWith('Bearer ') ? store.findToken(hashToken(auth.slice(7))) : undefined;
      if (!found || found.federationId !== config.id) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'unknown or revoked enrolment token: ask the federation admin for a new one' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ hospital: found.hospital, config }));
      return;
    }
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

function ensureAdminCredential(store: Store, password: string | undefined): string | null {
  if (store.getSetting('admin_password')) return null;
  const chosen = password ?? newPassword();
  store.setSetting('admin_password', hashPassword(chosen));
  return password ? null : chosen;
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

  /** Validates at the boundary; a bad message is answered with an error and changes nothing. */
  const on = <T>(
    event: keyof HospitalToServer,
    schema: ZodType<T>,
    handle: (msg: T) => object,
  ) => {
    socket.on(event, ((msg: unknown, ack: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (r: unknown) => void) : () => {};
      const parsed = parseMessage(schema, msg);
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
