import type { SentMessage } from '@fedward/client';
import { keyValueStore } from './indexed-db';

/**
 * The hospital's receipts: every message it sent to the server in a study (fields and values,
 * binary fields as their length, size on the wire), kept in IndexedDB under the study's history
 * key. Each message is written as soon as it was sent, so a crash loses none.
 */
const receipts = keyValueStore<SentMessage[]>('fedward-receipts', 'receipts');

export const loadReceipts = async (key: string): Promise<SentMessage[]> => (await receipts.get(key)) ?? [];

export const appendReceipts = (key: string, sent: readonly SentMessage[]): Promise<SentMessage[]> =>
  receipts.update(key, (old = []) => [...old, ...sent]);

/** The round a message belongs to (its `round` field); null for messages outside rounds (hello). */
export function roundOf(m: SentMessage): number | null {
  const r = m.fields.round;
  return typeof r === 'number' ? r : null;
}
