import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

/**
 * One database, one server. Two servers on one SQLite file would each run rounds from the same
 * stored state and both write results (and spend privacy budget) for them, so a server holds
 * `<db>.lock` (created with O_EXCL; pid, host and start time inside) for as long as it has the
 * database open. A lock left by a server that died (kill -9, power cut) is taken over: its pid no
 * longer runs on this host.
 */
export class DatabaseInUseError extends Error {
  override readonly name = 'DatabaseInUseError';
}

interface LockOwner {
  pid: number;
  host: string;
  startedAt: number;
}

export interface DbLock {
  /** Said once when the lock was taken over from a server that is no longer running; otherwise null. */
  readonly tookOver: string | null;
  release(): void;
}

/** Locks this process holds, by lock file: tells our own lock from one a previous process with our pid left. */
const held = new Map<string, LockOwner>();
let exitHookInstalled = false;

/**
 * Takes the lock of the database at `dbPath`. `serialize` runs its argument while holding the
 * database's write lock (BEGIN IMMEDIATE): two servers starting at once over a stale lock file
 * then cannot both judge it stale and both take it over.
 */
export function acquireDbLock(dbPath: string, serialize: (take: () => DbLock) => DbLock): DbLock {
  const path = resolve(`${dbPath}.lock`);
  return serialize(() => {
    const previous = readOwner(path);
    if (previous && isRunning(previous, path)) throw new DatabaseInUseError(inUseMessage(dbPath, previous));
    if (previous !== undefined) unlinkSync(path);
    const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: Date.now() };
    writeFileSync(path, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o644 });
    if (!exitHookInstalled) process.once('exit', releaseAll);
    exitHookInstalled = true;
    held.set(path, me);
    return {
      tookOver: previous ? takeoverMessage(path, previous) : previous === null ? `replaced the unreadable lock file ${path}` : null,
      release: () => release(path, me),
    };
  });
}

/** The lock's owner; undefined when there is no lock file; null when it cannot be read (a crash while writing it). */
function readOwner(path: string): LockOwner | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.startedAt === 'number'
      ? { pid: o.pid, host: o.host, startedAt: o.startedAt }
      : null;
  } catch {
    return null;
  }
}

/**
 * Whether the owner may still be using the database. A pid on another host cannot be checked, so
 * that lock is respected. Our own pid counts only if this process took the lock: in a container a
 * restarted server often gets the pid its killed predecessor had.
 */
function isRunning(owner: LockOwner, path: string): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return held.has(path);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUseMessage(dbPath: string, owner: LockOwner): string {
  return owner.host === hostname()
    ? `database ${dbPath} is in use by another Fedward server (pid ${owner.pid}); stop it or use --db`
    : `database ${dbPath} is in use by a Fedward server on host ${owner.host} (pid ${owner.pid}); stop it or use --db (if it is already stopped, delete ${dbPath}.lock)`;
}

function takeoverMessage(path: string, owner: LockOwner): string {
  return `took over ${path}: the server that held it (pid ${owner.pid}, started ${new Date(owner.startedAt).toISOString()}) is no longer running`;
}

/** Removes the lock file only while it is still ours: never one another server has taken over since. */
function release(path: string, me: LockOwner): void {
  if (held.get(path) !== me) return;
  held.delete(path);
  const owner = readOwner(path);
  if (owner && owner.pid === me.pid && owner.host === me.host && owner.startedAt === me.startedAt) unlinkSync(path);
}

/** A process that exits without closing its Store (process.exit after a failed start) leaves no lock behind. */
function releaseAll(): void {
  for (const [path, me] of held) release(path, me);
}
