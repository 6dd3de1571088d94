import { createHash } from 'node:crypto';
import type { AuditEntry } from '@fedward/protocol';

/** The chain's anchor: what the first entry's prev_hash holds. */
export const AUDIT_GENESIS = '0'.repeat(64);

/**
 * SHA-256 (hex) of one entry chained to the one before. The fields are hashed as a JSON array, not
 * joined with a separator, so text cannot be moved from one field into the next (actor "a|b" with
 * action "c" must not hash like actor "a" with action "b|c").
 */
export function auditHash(prevHash: string, e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify([prevHash, e.id, e.at, e.actor, e.action, e.detail]), 'utf8').digest('hex');
}

const CSV_COLUMNS = ['id', 'at', 'time', 'actor', 'action', 'detail', 'hash'] as const;

/**
 * The audit log as CSV (RFC 4180: CRLF line ends, fields with a comma, quote or line break quoted,
 * quotes doubled). `at` is kept in ms since the epoch because that is what the hash covers; `time`
 * is the same instant in ISO 8601 (UTC) for people.
 */
export function auditCsv(entries: readonly AuditEntry[]): string {
  const rows = entries.map((e) => [String(e.id), String(e.at), new Date(e.at).toISOString(), e.actor, e.action, e.detail, e.hash]);
  return [CSV_COLUMNS, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/**
 * One CSV field. Actors and details carry text that others chose (hospital names, addresses), and a
 * spreadsheet runs a cell starting with = + - @ (or a tab / CR before one) as a formula: such a cell
 * gets a leading apostrophe (OWASP's advice), so it opens as text. A verifier recomputing hashes from
 * the CSV strips that apostrophe first.
 */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
