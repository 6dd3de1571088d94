import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type ServerProcess } from '../../../e2e/tests/fedward-server';
import { UsageError } from './options';

export interface FederationServer {
  server: ServerProcess;
  /** Enrolment token per hospital, made by the server at its first start (`--enrol`). */
  tokens: Record<string, string>;
  adminPassword: string;
}

/**
 * The real server CLI (server/src/main.ts, spawned the way the e2e specs do) on a free port of
 * 127.0.0.1 with a database in `stateDir`, the hospitals enrolled and the study flags as given.
 * Without --min-clients, every hospital must be there before a round starts (the server's
 * default, 3, would start without a fourth or never start with two).
 */
export async function startFederationServer(o: { stateDir: string; hospitals: string[]; studyArgs: string[] }): Promise<FederationServer> {
  const adminPassword = `federate-${randomBytes(12).toString('hex')}`;
  const tokensFile = join(o.stateDir, 'tokens.json');
  const minClients = o.studyArgs.includes('--min-clients') ? [] : ['--min-clients', String(o.hospitals.length)];
  const args = ['--db', join(o.stateDir, 'fedward.sqlite'), '--enrol', o.hospitals.join(','), '--tokens-file', tokensFile, ...minClients, ...o.studyArgs];
  let server: ServerProcess;
  try {
    server = await startServer(args, { FEDWARD_ADMIN_PASSWORD: adminPassword });
  } catch (e) {
    throw serverStartError(e as Error);
  }
  return { server, tokens: JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, string>, adminPassword };
}

/** The server says why it would not start in `fedward: …` lines; exit code 2 is a settings mistake (the user's). */
function serverStartError(e: Error): Error {
  const code = /^server exited with (\d+)/.exec(e.message)?.[1];
  const lines = e.message.split('\n').filter((l) => l.startsWith('fedward: ')).map((l) => l.slice('fedward: '.length));
  const reason = lines.join('; ') || e.message;
  return code === '2' ? new UsageError(reason) : new Error(`the Fedward server did not start: ${reason}`);
}
