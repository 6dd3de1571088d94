import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hashToken } from './secrets';
import type { Store } from './store';

/**
 * The demo's enrolment tokens, kept in a file between starts. A token is a credential: it is
 * printed only when it is created, never again on later starts. The file can outlive its database
 * (a new --db, or --reset): a token there that this federation does not know is replaced, so the
 * file never hands out tokens the server refuses. A token the admin revoked is not replaced: that
 * would undo the revocation.
 */
export interface DemoTokens {
  /** Tokens made by this start, to show once. */
  created: { hospital: string; token: string }[];
  /** Hospitals with an active token (including the new ones). */
  enrolled: number;
  revoked: string[];
  /** What the operator should know (a stale token replaced). */
  notes: string[];
}

export function syncDemoTokens(o: {
  store: Store;
  federationId: string;
  hospitals: readonly string[];
  file: string | null;
  createToken: (hospital: string) => string;
}): DemoTokens {
  const saved = o.file && existsSync(o.file) ? (JSON.parse(readFileSync(o.file, 'utf8')) as Record<string, string>) : {};
  const tokens = { ...saved };
  const result: DemoTokens = { created: [], enrolled: 0, revoked: [], notes: [] };
  for (const hospital of new Set([...Object.keys(saved), ...o.hospitals])) {
    const state = saved[hospital] === undefined ? 'missing' : tokenState(o.store, o.federationId, saved[hospital]);
    if (state === 'revoked') {
      result.revoked.push(hospital);
      continue;
    }
    if (state === 'unknown') result.notes.push(`the token for ${hospital} in ${o.file} is not enrolled in federation ${o.federationId} of this database; created a new one`);
    if (state !== 'active') {
      tokens[hospital] = o.createToken(hospital);
      result.created.push({ hospital, token: tokens[hospital] });
    }
    result.enrolled += 1;
  }
  if (o.file) writeTokens(o.file, tokens, result.created.length > 0);
  return result;
}

function tokenState(store: Store, federationId: string, token: string): 'active' | 'revoked' | 'unknown' {
  const found = store.tokenRecord(hashToken(token));
  if (!found || found.federationId !== federationId) return 'unknown';
  return found.revoked ? 'revoked' : 'active';
}

/** mode 600 also when the file was made some other way: it holds credentials. */
function writeTokens(file: string, tokens: Record<string, string>, changed: boolean): void {
  if (changed) writeFileSync(file, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 });
  if (existsSync(file)) chmodSync(file, 0o600);
}
