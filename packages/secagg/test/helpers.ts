import { advertiseKeys, maskInput, shareKeys, toRing } from '../src/index';
import type { EncryptedShare, KeyAdvert, ParticipantKeys, ParticipantState, RoundConfig } from '../src/index';

/** n ids that sort in numeric order. */
export function makeIds(n: number, prefix = 'hospital-'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
}

/** Uniform random integers in [lo, hi). Math.random is fine here: test data, not keys. */
export function randomInts(length: number, lo: number, hi: number): Float64Array {
  return Float64Array.from({ length }, () => lo + Math.floor(Math.random() * (hi - lo)));
}

export function pick<T>(items: readonly T[], k: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}

export interface SharedRound {
  config: RoundConfig;
  ids: string[];
  secrets: Map<string, ParticipantKeys>;
  roster: KeyAdvert[];
  states: Map<string, ParticipantState>;
  /** All stage-2 messages, by recipient. */
  inbox: Map<string, EncryptedShare[]>;
}

/** Stages 1 and 2 for every id. */
export async function shareRound(ids: string[], config: RoundConfig): Promise<SharedRound> {
  const secrets = new Map<string, ParticipantKeys>();
  const roster: KeyAdvert[] = [];
  for (const id of ids) {
    const { secret, advert } = advertiseKeys(id);
    secrets.set(id, secret);
    roster.push(advert);
  }
  const states = new Map<string, ParticipantState>();
  const inbox = new Map<string, EncryptedShare[]>(ids.map((id) => [id, []]));
  for (const id of ids) {
    const { state, shares } = await shareKeys(secrets.get(id)!, config, roster);
    states.set(id, state);
    for (const s of shares) inbox.get(s.to)!.push(s);
  }
  return { config, ids, secrets, roster, states, inbox };
}

/** Stages 1–3 with everyone in U2 = U3; returns plain and masked inputs. */
export async function maskRound(ids: string[], config: RoundConfig, lo = -1000, hi = 1000) {
  const round = await shareRound(ids, config);
  const plain = new Map<string, Float64Array>();
  const masked = new Map<string, Uint32Array>();
  for (const id of ids) {
    const x = randomInts(config.length, lo, hi);
    plain.set(id, x);
    masked.set(id, await maskInput(round.states.get(id)!, toRing(x), ids, round.inbox.get(id)!));
  }
  return { ...round, plain, masked };
}
