import { shuffledIndices } from '@fedward/models';

export interface SubClientSplit {
  /** Patient hashes of each sub-client; no patient is in two. */
  groups: string[][];
  /** Slices per sub-client. */
  slices: number[];
  requested: number;
  /** Fewer than requested when the hospital has fewer patients than sub-clients. */
  effective: number;
  note: string | null;
}

/**
 * Splits a hospital's patients into VN patient-disjoint sub-clients (the intermediaries of
 * Jiang et al. 2023). The seed splits at slice level and drops the remainder ⌊|D|/VN⌋·VN;
 * here whole patients are dealt out so no patient's slices straddle two sub-clients, and no
 * slice is dropped: patients go, largest first (ties in a seeded random order), to the
 * sub-client with the fewest slices so far, so sizes differ by at most one patient's slices.
 */
export function splitIntoSubClients(patients: Readonly<Record<string, number>>, requested: number, seed: number): SubClientSplit {
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`the number of sub-clients must be a positive integer (got ${requested})`);
  const hashes = Object.keys(patients).sort();
  if (hashes.length === 0) throw new Error('this hospital has no patients to split into sub-clients');
  const effective = Math.min(requested, hashes.length);
  const order = shuffledIndices(hashes.length, seed).map((i) => hashes[i]!);
  order.sort((a, b) => patients[b]! - patients[a]!); // stable: ties keep the seeded order
  const groups: string[][] = Array.from({ length: effective }, () => []);
  const slices = new Array<number>(effective).fill(0);
  for (const hash of order) {
    let smallest = 0;
    for (let g = 1; g < effective; g++) if (slices[g]! < slices[smallest]!) smallest = g;
    groups[smallest]!.push(hash);
    slices[smallest]! += patients[hash]!;
  }
  return {
    groups,
    slices,
    requested,
    effective,
    note:
      effective < requested
        ? `only ${hashes.length} patients: ${effective} sub-clients instead of ${requested}, since a patient's slices are never split`
        : null,
  };
}
