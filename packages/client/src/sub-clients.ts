import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export interface SubClientSplit {
  /** Patient hashes of each sub-client, sorted; always `vn` groups, no patient in two, a group may be empty. */
  groups: string[][];
  /** Slices per sub-client (0 for an empty one). */
  slices: number[];
  /** VN: the number of sub-clients asked for, and of groups. */
  requested: number;
  /** How many of the groups hold at least one patient. */
  nonEmpty: number;
  /** Plain words when some sub-clients are empty; null otherwise. */
  note: string | null;
}

/**
 * The sub-client (0 ≤ j < vn) patient `patient` belongs to: the first 48 bits of
 * HMAC-SHA256(key, patient), big-endian, as an integer, mod vn. It depends on nothing but the
 * key, the patient and vn, so adding or removing another patient never moves this one.
 */
export function subClientOf(key: string, patient: string, vn: number): number {
  const mac = hmac(sha256, utf8ToBytes(key), utf8ToBytes(patient));
  let h = 0;
  for (let i = 0; i < 6; i++) h = h * 256 + mac[i]!; // < 2^48, exact in a double
  return h % vn;
}

/** Names a split key without revealing it (the first 64 bits of SHA-256), to tell whether kept state belongs to it. */
export function splitFingerprint(key: string): string {
  return bytesToHex(sha256(utf8ToBytes(`fedward-split-fingerprint\u0000${key}`)).subarray(0, 8));
}

/**
 * Splits a hospital's patients into VN patient-disjoint sub-clients (the intermediaries of
 * Jiang et al. 2023) by a keyed hash: patient p goes to sub-client H(key, p) mod VN, H being the
 * first 48 bits of HMAC-SHA256 (`subClientOf`). Why not deal patients out to balance the sizes:
 * the per-patient privacy guarantee needs one patient to touch exactly one sub-client's update.
 * With a dealing, removing one patient reshuffles the split and changes every sub-client's data;
 * here it changes only its own sub-client. So there are always exactly `vn` groups (the number of
 * updates a hospital sends must not depend on its data), and a group may be empty; sizes are
 * balanced only on average. The key must stay fixed for the federation (or the split moves
 * between rounds) and should be unknown to the server: the hospital app derives it from its
 * local store's salt and the federation id.
 */
export function splitIntoSubClients(patients: Readonly<Record<string, number>>, vn: number, key: string): SubClientSplit {
  if (!Number.isInteger(vn) || vn < 1) throw new Error(`the number of sub-clients must be a positive integer (got ${vn})`);
  const groups: string[][] = Array.from({ length: vn }, () => []);
  const slices = new Array<number>(vn).fill(0);
  for (const hash of Object.keys(patients).sort()) {
    const j = subClientOf(key, hash, vn);
    groups[j]!.push(hash);
    slices[j]! += patients[hash]!;
  }
  const nonEmpty = groups.filter((g) => g.length > 0).length;
  const empty = vn - nonEmpty;
  const count = Object.keys(patients).length;
  return {
    groups,
    slices,
    requested: vn,
    nonEmpty,
    note:
      empty === 0
        ? null
        : `${empty} of ${vn} sub-clients have no patients this round (${count} patient${count === 1 ? '' : 's'}, each placed by a keyed hash so that ` +
          `one patient only ever changes one sub-client). Each empty one still sends an update, the unchanged model, so the number of ` +
          `updates does not depend on the data.`,
  };
}
