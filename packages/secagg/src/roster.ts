/** The roster U1 and the id lists the later stages exchange, with their validation. */
import { isBytes, toHex } from './bytes';
import type { KeyAdvert } from './types';

/**
 * The one id order used everywhere (roster order, Shamir x-coordinates, the sign of pairwise masks):
 * UTF-16 code unit order, as `<` compares strings. Never `localeCompare`, whose order depends on the
 * locale of each machine, and two machines that disagree would not cancel each other's masks.
 */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortIds(ids: Iterable<string>): string[] {
  return [...ids].sort(compareIds);
}

export interface ValidatedRoster {
  /** The adverts sorted by id. */
  members: KeyAdvert[];
  /** id → 1-based index in `members`, the holder's Shamir x-coordinate. */
  index: Map<string, number>;
}

/** Checks t is an integer with 2 ≤ t ≤ n. */
export function validateThreshold(threshold: number, n: number, where: string): void {
  if (!Number.isInteger(threshold) || threshold < 2) {
    throw new RangeError(`${where}: the threshold ${threshold} must be an integer ≥ 2`);
  }
  if (threshold > n) {
    throw new RangeError(`${where}: the threshold ${threshold} exceeds the roster size ${n}`);
  }
}

/**
 * Validates the roster (non-empty unique ids, 32-byte keys, no public key advertised twice, at least
 * t members) and sorts it by id. A duplicated public key would let one participant pose as another in
 * key agreement, so it is refused even across the c and s keys.
 */
export function validateRoster(roster: readonly KeyAdvert[], threshold: number, where: string): ValidatedRoster {
  if (!Array.isArray(roster)) throw new TypeError(`${where}: the roster must be an array of key adverts`);
  const ids = new Set<string>();
  const keys = new Map<string, string>();
  for (const advert of roster) {
    if (typeof advert?.id !== 'string' || advert.id.length === 0) {
      throw new TypeError(`${where}: every roster entry needs a non-empty string id`);
    }
    if (ids.has(advert.id)) throw new Error(`${where}: the roster lists '${advert.id}' twice`);
    ids.add(advert.id);
    for (const name of ['cPk', 'sPk'] as const) {
      const key = advert[name];
      if (!isBytes(key, 32)) throw new RangeError(`${where}: '${advert.id}'.${name} must be a 32-byte Uint8Array`);
      const hex = toHex(key);
      const other = keys.get(hex);
      if (other !== undefined) {
        throw new Error(`${where}: '${advert.id}'.${name} duplicates the public key ${other}`);
      }
      keys.set(hex, `'${advert.id}'.${name}`);
    }
  }
  validateThreshold(threshold, roster.length, where);
  const members = [...roster].sort((a, b) => compareIds(a.id, b.id));
  return { members, index: new Map(members.map((m, i) => [m.id, i + 1])) };
}

/**
 * Validates a list of ids: strings, no duplicates, every one in `universe`. Returns it sorted.
 */
export function validateIdList(
  list: readonly string[],
  universe: ReadonlySet<string> | ReadonlyMap<string, unknown>,
  name: string,
  universeName: string,
  where: string,
): string[] {
  if (!Array.isArray(list)) throw new TypeError(`${where}: ${name} must be an array of ids`);
  const seen = new Set<string>();
  for (const id of list) {
    if (typeof id !== 'string') throw new TypeError(`${where}: ${name} must contain only string ids`);
    if (seen.has(id)) throw new Error(`${where}: ${name} lists '${id}' twice`);
    if (!universe.has(id)) throw new Error(`${where}: ${name} names '${id}', who is not in ${universeName}`);
    seen.add(id);
  }
  return sortIds(list);
}
