import type { FederationEnd, RoundRecord, SentRound } from '../types/federation';
import { keyValueStore } from './indexed-db';

/**
 * What this hospital did in a federation, kept in IndexedDB as it happens so that a reload, a
 * crash or a closed tab loses none of it: the evaluations it reported, the updates it sent, the
 * federation's end, and whether it was taking part when the page went away (then the page
 * rejoins by itself).
 */
export interface HospitalHistory {
  rounds: RoundRecord[];
  sent: SentRound[];
  finished: FederationEnd | null;
  /** The join that was under way (an id per join), until it ended; null once left, finished or refused. */
  joinedAs: string | null;
}

const EMPTY: HospitalHistory = { rounds: [], sent: [], finished: null, joinedAs: null };
const records = keyValueStore<HospitalHistory>('fedward-history', 'hospital-history');

/**
 * One history per hospital token and study, found by a SHA-256 of both: a new server, even with
 * the same study ids, comes with new tokens, and the token itself is not stored a second time.
 */
export async function historyKey(token: string, study: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`fedward-history\u0000${token}\u0000${study}`));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * `older` with the entries of `newer` in, in round order; an entry of `newer` replaces the one of
 * the same round (a reconnect evaluates or uploads the same round again).
 */
export function mergeRounds<T extends { round: number }>(older: readonly T[], newer: readonly T[]): T[] {
  const rounds = new Set(newer.map((r) => r.round));
  return [...older.filter((r) => !rounds.has(r.round)), ...newer].sort((a, b) => a.round - b.round);
}

export const loadHistory = async (key: string): Promise<HospitalHistory | null> => (await records.get(key)) ?? null;

/**
 * Records what the page has now, merged round by round into what is stored (another tab of the
 * same hospital may have stored rounds this one did not see).
 */
export function saveHistory(key: string, now: Pick<HospitalHistory, 'rounds' | 'sent' | 'finished'>): Promise<HospitalHistory> {
  return records.update(key, (old = EMPTY) => ({
    ...old,
    rounds: mergeRounds(old.rounds, now.rounds),
    sent: mergeRounds(old.sent, now.sent),
    finished: now.finished ?? old.finished,
  }));
}

export const markJoined = (key: string, joinId: string): Promise<HospitalHistory> => records.update(key, (old = EMPTY) => ({ ...old, joinedAs: joinId }));

/** Ends `joinId`'s participation; a newer join (this hospital in another tab) stays. */
export const markLeft = (key: string, joinId: string): Promise<HospitalHistory> =>
  records.update(key, (old = EMPTY) => (old.joinedAs === joinId ? { ...old, joinedAs: null } : old));

/** An id for one join, so that ending it never ends another tab's. */
export function newJoinId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
