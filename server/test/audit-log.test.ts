import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_GENESIS, auditCsv, auditHash } from '../src/audit-log';
import { Store } from '../src/store';
import { tempDb } from './helpers';

let open: Store | null = null;
afterEach(() => {
  open?.close();
  open = null;
});

function storeWithEntries(n: number): { store: Store; path: string } {
  const path = tempDb();
  open = new Store(path);
  for (let i = 1; i <= n; i++) open.appendAudit(`actor ${i}`, 'login', `detail ${i}`);
  return { store: open, path };
}

describe('audit log', () => {
  it('chains every entry to the one before, from 64 zeros', () => {
    const { store } = storeWithEntries(3);
    const entries = store.auditEntries();
    expect(entries.map((e) => e.id)).toEqual([3, 2, 1]);
    expect(entries[2]!.hash).toBe(auditHash(AUDIT_GENESIS, { ...entries[2]!, detail: 'detail 1' }));
    expect(entries[1]!.hash).toBe(auditHash(entries[2]!.hash, entries[1]!));
    expect(store.verifyAudit()).toEqual({ ok: true, entries: 3 });
    expect(store.auditEntries(2).map((e) => e.id)).toEqual([3, 2]);
  });

  it('returns what it stored, with an empty detail by default', () => {
    const { store } = storeWithEntries(0);
    const e = store.appendAudit('server', 'round-aggregated');
    expect(store.auditEntries()).toEqual([e]);
    expect(e).toMatchObject({ id: 1, actor: 'server', action: 'round-aggregated', detail: '' });
  });

  it('cannot be shifted between fields: the encoding keeps them apart', () => {
    const base = { id: 1, at: 5, detail: '' };
    expect(auditHash(AUDIT_GENESIS, { ...base, actor: 'a|b', action: 'c' })).not.toBe(
      auditHash(AUDIT_GENESIS, { ...base, actor: 'a', action: 'b|c' }),
    );
  });

  it('refuses UPDATE and DELETE while its triggers stand', () => {
    const { path } = storeWithEntries(2);
    const db = new Database(path);
    expect(() => db.prepare("UPDATE audit_log SET detail = 'x' WHERE id = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE id = 2').run()).toThrow(/append-only/);
    db.close();
  });

  it('finds an edited entry when the triggers were dropped', () => {
    const { store, path } = storeWithEntries(5);
    const db = new Database(path);
    db.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'nothing happened' WHERE id = 3");
    db.close();
    expect(store.verifyAudit()).toEqual({ ok: false, brokenAt: 3 });
  });

  it('finds a removed entry at the one after it', () => {
    const { store, path } = storeWithEntries(5);
    const db = new Database(path);
    db.exec('DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE id = 2');
    db.close();
    expect(store.verifyAudit()).toEqual({ ok: false, brokenAt: 3 });
  });

  it('finds a rewritten entry whose own hash was recomputed: its successor still names the old hash', () => {
    const { store, path } = storeWithEntries(5);
    const [, , three, two] = store.auditEntries();
    const forged = { ...three!, detail: 'forged' };
    const db = new Database(path);
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare('UPDATE audit_log SET detail = ?, hash = ? WHERE id = 3').run(forged.detail, auditHash(two!.hash, forged));
    db.close();
    expect(store.verifyAudit()).toEqual({ ok: false, brokenAt: 4 });
  });

  it('gets its triggers back when the database is opened again', () => {
    const { path } = storeWithEntries(1);
    open!.close();
    const db = new Database(path);
    db.exec('DROP TRIGGER audit_log_no_update');
    db.close();
    open = new Store(path);
    const again = new Database(path);
    expect(() => again.prepare("UPDATE audit_log SET actor = 'x'").run()).toThrow(/append-only/);
    again.close();
  });
});

describe('auditCsv', () => {
  const entry = (actor: string, detail: string) => ({ id: 7, at: Date.UTC(2025, 0, 2, 3, 4, 5), actor, action: 'login', detail, hash: 'ab'.repeat(32) });

  it('writes a header and one CRLF-terminated row per entry', () => {
    expect(auditCsv([entry('server', 'round 2')])).toBe(
      `id,at,time,actor,action,detail,hash\r\n7,${Date.UTC(2025, 0, 2, 3, 4, 5)},2025-01-02T03:04:05.000Z,server,login,round 2,${'ab'.repeat(32)}\r\n`,
    );
  });

  it('quotes commas, quotes and line breaks (RFC 4180)', () => {
    const row = auditCsv([entry('Hospital "A", north', 'line 1\nline 2')]).split('\r\n')[1]!;
    expect(row).toContain(',"Hospital ""A"", north",login,"line 1\nline 2",');
  });

  it('neutralises cells a spreadsheet would run as formulas', () => {
    for (const bad of ['=HYPERLINK("http://x")', '+1', '-2+3', '@SUM(A1)', '\tx', '\rx']) {
      const cells = auditCsv([entry('admin', bad)]).split('\r\n')[1]!;
      expect(cells).toMatch(/,login,"?'/);
    }
    expect(auditCsv([entry('admin', '=1+1')]).split('\r\n')[1]).toContain(",login,'=1+1,");
    expect(auditCsv([entry('admin 127.0.0.1', 'a-b')]).split('\r\n')[1]).toContain(',admin 127.0.0.1,login,a-b,');
  });
});
