import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** Writes a generated federation with the project's own generator (real PNG/DICOM files on disk). */
export function generateFederation(out: string, args: string[]): void {
  const r = spawnSync('npm', ['run', '-s', 'generate-federation', '--', '--out', out, ...args], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generator failed: ${r.stderr || r.stdout}`);
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts the real server (node, not a wrapper, so a kill reaches it) on a free 127.0.0.1 port. */
export async function startServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', '--port', String(port), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((ok, fail) => {
    const timer = setInterval(() => {
      if (out.includes('Admin dashboard')) {
        clearInterval(timer);
        ok();
      }
    }, 100);
    child.once('exit', (code) => {
      clearInterval(timer);
      fail(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGTERM');
      }),
  };
}

export interface DemoFederation {
  server: ServerProcess;
  dataDir: string;
  /** Enrolment token per hospital, made by the server at its first start (`--enrol`). */
  tokens: Record<string, string>;
}

/**
 * A generated PNG federation on disk and a server with its hospitals already enrolled, so a spec
 * goes straight to the hospitals' tabs. `serverArgs` are the federation's settings.
 */
export async function startDemoFederation(o: {
  name: string;
  hospitals: string[];
  slicesPerHospital: number;
  seed: number;
  serverArgs: string[];
  adminPassword: string;
}): Promise<DemoFederation> {
  const dataDir = tempDir(`fedward-e2e-${o.name}-data-`);
  generateFederation(dataDir, ['--format', 'png', '--hospitals', String(o.hospitals.length), '--size', '32',
    '--slices-per-hospital', String(o.slicesPerHospital), '--seed', String(o.seed)]);
  const state = tempDir(`fedward-e2e-${o.name}-db-`);
  const tokensFile = join(state, 'tokens.json');
  const server = await startServer(
    ['--db', join(state, 'fedward.sqlite'), '--input-size', '32', ...o.serverArgs, '--enrol', o.hospitals.join(','), '--tokens-file', tokensFile],
    { FEDWARD_ADMIN_PASSWORD: o.adminPassword },
  );
  return { server, dataDir, tokens: JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string> };
}
