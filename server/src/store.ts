import Database from 'better-sqlite3';
import type { AuditEntry, BackendName, DpRoundView, FederationConfig, NamedTensor, StudyStatus } from '@fedward/protocol';
import { decodeWeights, encodeWeights } from '@fedward/protocol';
import { AUDIT_GENESIS, auditHash } from './audit-log';
import { acquireDbLock, type DbLock } from './db-lock';

/**
 * Everything the server must not forget, in one SQLite file: federations, enrolment tokens
 * (hashed), every finished round's global weights, who took part and what they measured.
 * A round's weights and its participants are written in one transaction, so after a crash
 * the file holds either the whole round or none of it.
 */
const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS federations (
  id TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  federation_id TEXT NOT NULL REFERENCES federations(id),
  hospital TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS rounds (
  federation_id TEXT NOT NULL REFERENCES federations(id),
  round INTEGER NOT NULL,
  weights BLOB NOT NULL,
  completed_at INTEGER NOT NULL,
  -- DP rounds: what the round measured (JSON), and both privacy ledgers after it (JSON).
  dp TEXT,
  ledger TEXT,
  PRIMARY KEY (federation_id, round)
);
CREATE TABLE IF NOT EXISTS participants (
  federation_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  hospital TEXT NOT NULL,
  train_samples INTEGER NOT NULL,
  train_loss REAL NOT NULL,
  backend TEXT NOT NULL,
  PRIMARY KEY (federation_id, round, hospital),
  FOREIGN KEY (federation_id, round) REFERENCES rounds(federation_id, round)
);
-- FedBN / PRR-FL: each hospital's own result of a round (the rounds row holds the plain average).
CREATE TABLE IF NOT EXISTS hospital_weights (
  federation_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  hospital TEXT NOT NULL,
  weights BLOB NOT NULL,
  PRIMARY KEY (federation_id, round, hospital),
  FOREIGN KEY (federation_id, round) REFERENCES rounds(federation_id, round)
);
CREATE TABLE IF NOT EXISTS evaluations (
  federation_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  hospital TEXT NOT NULL,
  test_samples INTEGER NOT NULL,
  accuracy REAL NOT NULL,
  loss REAL NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (federation_id, round, hospital)
);
-- Which studies each hospital takes part in. A hospital's tokens (any of them) open every study it is enrolled in.
CREATE TABLE IF NOT EXISTS enrolments (
  federation_id TEXT NOT NULL REFERENCES federations(id),
  hospital TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL,
  PRIMARY KEY (federation_id, hospital)
);
-- Append-only and hash-chained (see audit-log.ts): each row's hash covers the previous row's hash.
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
-- Accidental edits fail loudly. Whoever holds the file can drop these, which is why the chain exists:
-- after a rewrite, verification fails.
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
`;

/** One hospital's part of a round: summed over its sub-clients. */
export interface Contribution {
  hospital: string;
  trainSamples: number;
  trainLoss: number;
  backend: BackendName;
  subClients: number;
  /** DP-SGD: the hospital's own ε per record, as it reported it with its update. */
  dpSgdEpsilon?: number;
}

export interface EvaluationRow {
  round: number;
  hospital: string;
  testSamples: number;
  /** The model the hospital uses: the global one, or under PRR-FL its personalized model. */
  accuracy: number;
  loss: number;
  /** PRR-FL: the deputy (the exchanged model) on the same slices. */
  deputy?: { accuracy: number; loss: number };
}

export interface TokenRow {
  id: number;
  hospital: string;
  createdAt: number;
  revoked: boolean;
}

export type AuditVerification = { ok: true; entries: number } | { ok: false; brokenAt: number };

export class Store {
  private readonly db: Database.Database;
  /** Statements on hot paths (every handshake, every audit entry), prepared once. */
  private readonly statements = new Map<string, Database.Statement>();
  private readonly lock: DbLock;

  /** Throws DatabaseInUseError while another server has this database open. */
  constructor(path: string) {
    this.db = new Database(path);
    try {
      // Before the schema: a second server must not even migrate a database that is in use.
      this.lock = acquireDbLock(path, (take) => this.db.transaction(take).immediate());
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.db.exec(SCHEMA);
    this.migrate();
  }

  /** Set when this Store took over the lock of a server that died; worth telling the operator. */
  get lockTakeover(): string | null {
    return this.lock.tookOver;
  }

  /** Columns added after the first release; a database from before gets them with their defaults. */
  private migrate(): void {
    const has = (table: string, column: string) =>
      (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
    if (!has('participants', 'sub_clients')) this.db.exec('ALTER TABLE participants ADD COLUMN sub_clients INTEGER NOT NULL DEFAULT 1');
    if (!has('participants', 'dp_sgd_epsilon')) this.db.exec('ALTER TABLE participants ADD COLUMN dp_sgd_epsilon REAL');
    if (!has('rounds', 'server_state')) this.db.exec('ALTER TABLE rounds ADD COLUMN server_state BLOB');
    if (!has('federations', 'status')) {
      // Before studies, only the newest federation ran; the older ones (replaced by --reset) are over.
      this.db.exec(`ALTER TABLE federations ADD COLUMN status TEXT NOT NULL DEFAULT 'running'`);
      this.db.exec(`UPDATE federations SET status = 'stopped' WHERE rowid <> (SELECT rowid FROM federations ORDER BY created_at DESC, rowid DESC LIMIT 1)`);
    }
    if (!this.getSetting('enrolments_from_tokens')) {
      // Once: tokens made before studies enrolled their hospital in the federation they were made for.
      this.db.exec('INSERT OR IGNORE INTO enrolments (federation_id, hospital, enrolled_at) SELECT federation_id, hospital, MIN(created_at) FROM tokens GROUP BY federation_id, hospital');
      this.setSetting('enrolments_from_tokens', '1');
    }
    if (!has('evaluations', 'deputy_accuracy')) {
      this.db.exec('ALTER TABLE evaluations ADD COLUMN deputy_accuracy REAL');
      this.db.exec('ALTER TABLE evaluations ADD COLUMN deputy_loss REAL');
    }
  }

  close(): void {
    this.db.close();
    this.lock.release();
  }

  private prepared(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  getSetting(key: string): string | undefined {
    const row = this.prepared('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setSetting(key: string, value: string): void {
    this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /**
   * The study the start flags describe: the one they created (or --reset made); in a file from
   * before studies, the newest federation.
   */
  currentFederation(): FederationConfig | undefined {
    const id = this.getSetting('cli_study');
    const row = (
      id
        ? this.db.prepare('SELECT config FROM federations WHERE id = ?').get(id)
        : this.db.prepare('SELECT config FROM federations ORDER BY created_at DESC, rowid DESC LIMIT 1').get()
    ) as { config: string } | undefined;
    return row ? (JSON.parse(row.config) as FederationConfig) : undefined;
  }

  /** Every federation in this file, oldest first (ids are unique: a new one needs an unused id). */
  federationIds(): string[] {
    return (this.db.prepare('SELECT id FROM federations ORDER BY created_at, rowid').all() as { id: string }[]).map((r) => r.id);
  }

  /** Every study in this file with its status, oldest first. */
  studies(): { config: FederationConfig; status: StudyStatus; createdAt: number }[] {
    return (
      this.db.prepare('SELECT config, status, created_at AS createdAt FROM federations ORDER BY created_at, rowid').all() as {
        config: string;
        status: StudyStatus;
        createdAt: number;
      }[]
    ).map((r) => ({ ...r, config: JSON.parse(r.config) as FederationConfig }));
  }

  setStudyStatus(id: string, status: StudyStatus): void {
    this.db.prepare('UPDATE federations SET status = ? WHERE id = ?').run(status, id);
  }

  /**
   * New settings for a study. With `initial`, its round-0 weights are replaced too (a new model);
   * only allowed while no round has been saved, which the caller checks.
   */
  updateStudy(config: FederationConfig, initial: readonly NamedTensor[] | null): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE federations SET config = ? WHERE id = ?').run(JSON.stringify(config), config.id);
      if (initial) this.db.prepare('UPDATE rounds SET weights = ? WHERE federation_id = ? AND round = 0').run(encodeWeights(initial), config.id);
    })();
  }

  /** Creates a federation together with its round-0 (initial) global weights. */
  createFederation(config: FederationConfig, initial: readonly NamedTensor[], status: StudyStatus = 'running'): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO federations (id, config, created_at, status) VALUES (?, ?, ?, ?)').run(config.id, JSON.stringify(config), Date.now(), status);
      this.db
        .prepare('INSERT INTO rounds (federation_id, round, weights, completed_at) VALUES (?, 0, ?, ?)')
        .run(config.id, encodeWeights(initial), Date.now());
    })();
  }

  /** The last finished round, its global weights (round 0 = the initial model) and privacy ledgers. */
  latestRound(federationId: string): {
    round: number;
    weights: NamedTensor[];
    ledger: unknown;
    dp: DpRoundView | null;
    serverState: Uint8Array | null;
  } {
    const row = this.db
      .prepare('SELECT round, weights, ledger, dp, server_state AS serverState FROM rounds WHERE federation_id = ? ORDER BY round DESC LIMIT 1')
      .get(federationId) as { round: number; weights: Buffer; ledger: string | null; dp: string | null; serverState: Buffer | null } | undefined;
    if (!row) throw new Error(`federation ${federationId} has no stored weights`);
    return {
      round: row.round,
      weights: decodeWeights(row.weights),
      ledger: row.ledger ? (JSON.parse(row.ledger) as unknown) : null,
      dp: row.dp ? (JSON.parse(row.dp) as DpRoundView) : null,
      serverState: row.serverState ? new Uint8Array(row.serverState) : null,
    };
  }

  roundWeights(federationId: string, round: number): NamedTensor[] | undefined {
    const row = this.db.prepare('SELECT weights FROM rounds WHERE federation_id = ? AND round = ?').get(federationId, round) as
      | { weights: Buffer }
      | undefined;
    return row ? decodeWeights(row.weights) : undefined;
  }

  /**
   * Stores a finished round atomically: the released weights, every contribution, and for a DP
   * round the privacy ledgers that include it. ε is never under-counted after a crash: weights
   * that were stored are always accounted for in the same row.
   */
  saveRound(
    federationId: string,
    round: number,
    weights: readonly NamedTensor[],
    contributions: readonly Contribution[],
    privacy: { dp: DpRoundView; ledger: unknown } | null = null,
    serverState: Uint8Array | null = null,
    perHospital: ReadonlyMap<string, readonly NamedTensor[]> | null = null,
  ): void {
    const insertHospital = this.db.prepare('INSERT INTO hospital_weights (federation_id, round, hospital, weights) VALUES (?, ?, ?, ?)');
    const insertRound = this.db.prepare(
      'INSERT INTO rounds (federation_id, round, weights, completed_at, dp, ledger, server_state) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const insertParticipant = this.db.prepare(
      'INSERT INTO participants (federation_id, round, hospital, train_samples, train_loss, backend, sub_clients, dp_sgd_epsilon) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      insertRound.run(
        federationId,
        round,
        encodeWeights(weights),
        Date.now(),
        privacy ? JSON.stringify(privacy.dp) : null,
        privacy ? JSON.stringify(privacy.ledger) : null,
        serverState,
      );
      for (const c of contributions) {
        insertParticipant.run(federationId, round, c.hospital, c.trainSamples, c.trainLoss, c.backend, c.subClients, c.dpSgdEpsilon ?? null);
      }
      for (const [hospital, w] of perHospital ?? []) insertHospital.run(federationId, round, hospital, encodeWeights(w));
    })();
  }

  rounds(federationId: string): { round: number; completedAt: number; dp: DpRoundView | null; participants: Contribution[] }[] {
    const rows = this.db
      .prepare('SELECT round, completed_at AS completedAt, dp FROM rounds WHERE federation_id = ? AND round > 0 ORDER BY round')
      .all(federationId) as { round: number; completedAt: number; dp: string | null }[];
    const rounds = rows.map((r) => ({ ...r, dp: r.dp ? (JSON.parse(r.dp) as DpRoundView) : null }));
    const participants = this.db
      .prepare(
        'SELECT round, hospital, train_samples AS trainSamples, train_loss AS trainLoss, backend, sub_clients AS subClients, dp_sgd_epsilon AS dpSgdEpsilon FROM participants WHERE federation_id = ? ORDER BY round, hospital',
      )
      .all(federationId) as (Omit<Contribution, 'dpSgdEpsilon'> & { round: number; dpSgdEpsilon: number | null })[];
    return rounds.map((r) => ({
      ...r,
      participants: participants
        .filter((p) => p.round === r.round)
        .map(({ round: _round, dpSgdEpsilon, ...c }) => (dpSgdEpsilon === null ? c : { ...c, dpSgdEpsilon })),
    }));
  }

  /** This hospital's own result of one round (FedBN / PRR-FL). */
  hospitalWeights(federationId: string, round: number, hospital: string): NamedTensor[] | undefined {
    const row = this.db
      .prepare('SELECT weights FROM hospital_weights WHERE federation_id = ? AND round = ? AND hospital = ?')
      .get(federationId, round, hospital) as { weights: Buffer } | undefined;
    return row ? decodeWeights(row.weights) : undefined;
  }

  /** This hospital's own weights from the latest round that has them (FedBN / PRR-FL). */
  latestHospitalWeights(federationId: string, hospital: string): { round: number; weights: NamedTensor[] } | undefined {
    const row = this.db
      .prepare('SELECT round, weights FROM hospital_weights WHERE federation_id = ? AND hospital = ? ORDER BY round DESC LIMIT 1')
      .get(federationId, hospital) as { round: number; weights: Buffer } | undefined;
    return row ? { round: row.round, weights: decodeWeights(row.weights) } : undefined;
  }

  saveEvaluation(federationId: string, e: EvaluationRow): void {
    this.db
      .prepare(
        `INSERT INTO evaluations (federation_id, round, hospital, test_samples, accuracy, loss, deputy_accuracy, deputy_loss, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(federation_id, round, hospital) DO UPDATE SET test_samples = excluded.test_samples,
           accuracy = excluded.accuracy, loss = excluded.loss, deputy_accuracy = excluded.deputy_accuracy,
           deputy_loss = excluded.deputy_loss, at = excluded.at`,
      )
      .run(federationId, e.round, e.hospital, e.testSamples, e.accuracy, e.loss, e.deputy?.accuracy ?? null, e.deputy?.loss ?? null, Date.now());
  }

  evaluations(federationId: string): EvaluationRow[] {
    const rows = this.db
      .prepare(
        `SELECT round, hospital, test_samples AS testSamples, accuracy, loss, deputy_accuracy AS deputyAccuracy, deputy_loss AS deputyLoss
         FROM evaluations WHERE federation_id = ? ORDER BY round, hospital`,
      )
      .all(federationId) as (Omit<EvaluationRow, 'deputy'> & { deputyAccuracy: number | null; deputyLoss: number | null })[];
    return rows.map(({ deputyAccuracy, deputyLoss, ...e }) =>
      deputyAccuracy === null || deputyLoss === null ? e : { ...e, deputy: { accuracy: deputyAccuracy, loss: deputyLoss } },
    );
  }

  /** A new token for `hospital`, which is enrolled in `federationId` (if it was not already). */
  addToken(federationId: string, hospital: string, tokenHash: string): number {
    return this.db.transaction(() => {
      const r = this.db
        .prepare('INSERT INTO tokens (federation_id, hospital, token_hash, created_at) VALUES (?, ?, ?, ?)')
        .run(federationId, hospital, tokenHash, Date.now());
      this.setEnrolled(federationId, hospital, true);
      return Number(r.lastInsertRowid);
    })();
  }

  /** The hospital a live (not revoked) token belongs to. */
  findToken(tokenHash: string): { id: number; hospital: string } | undefined {
    return this.prepared('SELECT id, hospital FROM tokens WHERE token_hash = ? AND revoked_at IS NULL').get(tokenHash) as
      | { id: number; hospital: string }
      | undefined;
  }

  /** Hospitals that hold at least one live token. */
  hospitalsWithTokens(): string[] {
    return (this.db.prepare('SELECT DISTINCT hospital FROM tokens WHERE revoked_at IS NULL ORDER BY hospital').all() as { hospital: string }[]).map(
      (r) => r.hospital,
    );
  }

  setEnrolled(federationId: string, hospital: string, enrolled: boolean): boolean {
    const r = enrolled
      ? this.prepared('INSERT OR IGNORE INTO enrolments (federation_id, hospital, enrolled_at) VALUES (?, ?, ?)').run(federationId, hospital, Date.now())
      : this.prepared('DELETE FROM enrolments WHERE federation_id = ? AND hospital = ?').run(federationId, hospital);
    return r.changes > 0;
  }

  /** The studies a hospital is enrolled in. */
  studiesOf(hospital: string): string[] {
    return (this.prepared('SELECT federation_id AS id FROM enrolments WHERE hospital = ? ORDER BY enrolled_at, rowid').all(hospital) as { id: string }[]).map(
      (r) => r.id,
    );
  }

  /** The hospitals enrolled in a study. */
  enrolled(federationId: string): string[] {
    return (this.prepared('SELECT hospital FROM enrolments WHERE federation_id = ? ORDER BY hospital').all(federationId) as { hospital: string }[]).map(
      (r) => r.hospital,
    );
  }

  /** Like findToken, but also finds a revoked token: a revoked token must not be silently re-created. */
  tokenRecord(tokenHash: string): { federationId: string; hospital: string; revoked: boolean } | undefined {
    const row = this.db
      .prepare('SELECT federation_id AS federationId, hospital, revoked_at AS revokedAt FROM tokens WHERE token_hash = ?')
      .get(tokenHash) as { federationId: string; hospital: string; revokedAt: number | null } | undefined;
    return row && { federationId: row.federationId, hospital: row.hospital, revoked: row.revokedAt !== null };
  }

  revokeToken(id: number): boolean {
    return this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(Date.now(), id).changes > 0;
  }

  /** The tokens of the hospitals enrolled in a study (a hospital's tokens open all its studies). */
  tokens(federationId: string): TokenRow[] {
    return (
      this.db
        .prepare(
          `SELECT t.id, t.hospital, t.created_at AS createdAt, t.revoked_at AS revokedAt FROM tokens t
           JOIN enrolments e ON e.hospital = t.hospital AND e.federation_id = ? ORDER BY t.id`,
        )
        .all(federationId) as { id: number; hospital: string; createdAt: number; revokedAt: number | null }[]
    ).map(({ revokedAt, ...t }) => ({ ...t, revoked: revokedAt !== null }));
  }

  /**
   * Appends one entry to the audit log. Reading the last hash and inserting happen in one write
   * transaction, so two appends can never chain onto the same predecessor (the chain never forks).
   */
  appendAudit(actor: string, action: string, detail = ''): AuditEntry {
    return this.appendAudits([{ at: Date.now(), actor, action, detail }])[0]!;
  }

  /** Appends several entries, in order, in one transaction (one disk sync for a burst of joins). */
  appendAudits(entries: readonly { at: number; actor: string; action: string; detail: string }[]): AuditEntry[] {
    const last = this.prepared('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
    const insert = this.prepared('INSERT INTO audit_log (id, at, actor, action, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
    return this.db
      .transaction(() => {
        const prev = last.get() as { id: number; hash: string } | undefined;
        let [id, prevHash] = [prev?.id ?? 0, prev?.hash ?? AUDIT_GENESIS];
        return entries.map(({ at, actor, action, detail }) => {
          const entry = { id: ++id, at, actor, action, detail };
          const hash = auditHash(prevHash, entry);
          insert.run(entry.id, at, actor, action, detail, prevHash, hash);
          prevHash = hash;
          return { ...entry, hash };
        });
      })
      .immediate();
  }

  /** Newest first; all of them without a limit. */
  auditEntries(limit?: number): AuditEntry[] {
    return this.db
      .prepare('SELECT id, at, actor, action, detail, hash FROM audit_log ORDER BY id DESC LIMIT ?')
      .all(limit ?? -1) as AuditEntry[];
  }

  /**
   * Walks the chain from the first entry: each must name its predecessor's hash and hash to its own.
   * brokenAt is the first entry that does not (an edited entry, or the one after a removed one).
   */
  verifyAudit(): AuditVerification {
    const rows = this.db
      .prepare('SELECT id, at, actor, action, detail, prev_hash AS prevHash, hash FROM audit_log ORDER BY id')
      .iterate() as IterableIterator<AuditEntry & { prevHash: string }>;
    let prevHash = AUDIT_GENESIS;
    let entries = 0;
    for (const row of rows) {
      if (row.prevHash !== prevHash || row.hash !== auditHash(prevHash, row)) return { ok: false, brokenAt: row.id };
      prevHash = row.hash;
      entries += 1;
    }
    return { ok: true, entries };
  }
}
