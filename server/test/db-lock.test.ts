import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseInUseError } from '../src/db-lock';
import { Store } from '../src/store';
import { tempDb } from './helpers';

const opened: Store[] = [];
const open = (path: string) => {
  const s = new Store(path);
  opened.push(s);
  return s;
};
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

/** A pid that surely ran and ended: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('database lock', () => {
  it('refuses a second Store on the same database with one clear line', () => {
    const path = tempDb();
    open(path);
    expect(() => open(path)).toThrow(DatabaseInUseError);
    expect(() => open(path)).toThrow(`database ${path} is in use by another Fedward server (pid ${process.pid}); stop it or use --db`);
  });

  it('records who holds it and releases it on close', () => {
    const path = tempDb();
    const store = open(path);
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    expect(store.lockTakeover).toBeNull();
    opened.pop()!.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(open(path).lockTakeover).toBeNull();
  });

  it('takes over a lock left by a server that died (kill -9) and says so', () => {
    const path = tempDb();
    const pid = deadPid();
    writeFileSync(`${path}.lock`, JSON.stringify({ pid, host: hostname(), startedAt: 1 }));
    const store = open(path);
    expect(store.lockTakeover).toContain(`pid ${pid}`);
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('takes over a lock with its own pid that this process never took (a restarted container)', () => {
    const path = tempDb();
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: 1 }));
    expect(open(path).lockTakeover).toContain(`pid ${process.pid}`);
  });

  it('replaces an unreadable lock file (a crash while writing it)', () => {
    const path = tempDb();
    writeFileSync(`${path}.lock`, '');
    expect(open(path).lockTakeover).toContain('unreadable');
  });

  it('respects a lock from another host, whose pid it cannot check', () => {
    const path = tempDb();
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: 1 }));
    expect(() => open(path)).toThrow(/on host elsewhere \(pid 1\).*delete .*\.lock/);
  });

  it('does not remove a lock that another server took over in the meantime', () => {
    const path = tempDb();
    const store = open(path);
    const other = JSON.stringify({ pid: process.pid + 1, host: hostname(), startedAt: 2 });
    writeFileSync(`${path}.lock`, other);
    opened.pop();
    store.close();
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe(other);
  });
});
