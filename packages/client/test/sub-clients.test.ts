import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { splitIntoSubClients, subClientOf } from '../src';

const patients: Record<string, number> = Object.fromEntries(
  Array.from({ length: 23 }, (_, i) => [`p${String(i).padStart(2, '0')}`, 1 + ((i * 7) % 6)]),
);
const total = Object.values(patients).reduce((a, b) => a + b, 0);

describe('splitIntoSubClients (keyed hash)', () => {
  it('puts every patient in exactly one of VN groups that together hold every slice', () => {
    const split = splitIntoSubClients(patients, 5, 'k1');
    expect(split.groups).toHaveLength(5);
    expect(split.requested).toBe(5);
    const all = split.groups.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(Object.keys(patients).sort());
    expect(split.slices.reduce((a, b) => a + b, 0)).toBe(total);
    split.groups.forEach((g, k) => expect(g.reduce((s, h) => s + patients[h]!, 0)).toBe(split.slices[k]));
  });

  it('sends patient p to H(key, p) mod VN, H = the first 48 bits of HMAC-SHA256(key, p)', () => {
    for (const [key, p, vn] of [['k1', 'p00', 5], ['salt\u0000fed', 'a1b2c3', 7], ['', 'x', 3]] as const) {
      const mac = createHmac('sha256', key).update(p).digest();
      const expected = Number(mac.readUIntBE(0, 6) % vn);
      expect(subClientOf(key, p, vn)).toBe(expected);
      expect(Buffer.from(hmac(sha256, new TextEncoder().encode(key), new TextEncoder().encode(p))).equals(mac)).toBe(true);
    }
    const split = splitIntoSubClients(patients, 5, 'k1');
    for (const p of Object.keys(patients)) expect(split.groups[subClientOf('k1', p, 5)]).toContain(p);
  });

  it('removing one patient changes exactly the group it was in; every other group is identical', () => {
    const before = splitIntoSubClients(patients, 4, 'key');
    for (const removed of Object.keys(patients)) {
      const rest = { ...patients };
      delete rest[removed];
      const after = splitIntoSubClients(rest, 4, 'key');
      const home = before.groups.findIndex((g) => g.includes(removed));
      expect(after.groups).toHaveLength(4);
      after.groups.forEach((g, j) => {
        if (j === home) {
          expect(g).toEqual(before.groups[j]!.filter((p) => p !== removed));
          expect(after.slices[j]).toBe(before.slices[j]! - patients[removed]!);
        } else {
          expect(g).toEqual(before.groups[j]);
          expect(after.slices[j]).toBe(before.slices[j]);
        }
      });
    }
    // Adding one is the same the other way round.
    const added = splitIntoSubClients({ ...patients, newcomer: 9 }, 4, 'key');
    const home = subClientOf('key', 'newcomer', 4);
    added.groups.forEach((g, j) => expect(g.filter((p) => p !== 'newcomer')).toEqual(before.groups[j]));
    expect(added.groups[home]).toContain('newcomer');
  });

  it('has VN groups even with fewer patients than VN (or none), and says in plain words that some are empty', () => {
    const split = splitIntoSubClients({ a: 4, b: 2 }, 5, 'k');
    expect(split.groups).toHaveLength(5);
    expect(split.slices).toHaveLength(5);
    expect(split.nonEmpty).toBeLessThanOrEqual(2);
    expect(split.groups.filter((g) => g.length === 0)).toHaveLength(5 - split.nonEmpty);
    expect(split.note).toMatch(/of 5 sub-clients have no patients.*still sends an update/);
    const none = splitIntoSubClients({}, 3, 'k');
    expect(none.groups).toEqual([[], [], []]);
    expect(none.slices).toEqual([0, 0, 0]);
    expect(none.note).toMatch(/3 of 3 sub-clients have no patients/);
    expect(splitIntoSubClients(patients, 1, 'k')).toMatchObject({ groups: [Object.keys(patients).sort()], slices: [total], note: null });
    expect(() => splitIntoSubClients(patients, 0, 'k')).toThrow(/positive integer/);
    expect(() => splitIntoSubClients(patients, 2.5, 'k')).toThrow(/positive integer/);
  });

  it('is deterministic for a key (whatever the order patients are listed in) and differs across keys', () => {
    const equalSizes = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`q${i}`, 3]));
    const reversed = Object.fromEntries(Object.entries(equalSizes).reverse());
    expect(splitIntoSubClients(equalSizes, 3, 'alpha')).toEqual(splitIntoSubClients(equalSizes, 3, 'alpha'));
    expect(splitIntoSubClients(reversed, 3, 'alpha')).toEqual(splitIntoSubClients(equalSizes, 3, 'alpha'));
    expect(splitIntoSubClients(equalSizes, 3, 'alpha').groups).not.toEqual(splitIntoSubClients(equalSizes, 3, 'beta').groups);
  });

  it('is roughly balanced over many patients', () => {
    const many = Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`patient-${i}`, 1]));
    for (const vn of [2, 5, 12]) {
      const split = splitIntoSubClients(many, vn, 'balance');
      const expected = 6000 / vn;
      // Binomial counts: within 5 standard deviations of the mean (sd = √(n·p·(1−p))).
      const sd = Math.sqrt(6000 * (1 / vn) * (1 - 1 / vn));
      for (const n of split.slices) expect(Math.abs(n - expected)).toBeLessThan(5 * sd);
      expect(split.note).toBeNull();
    }
  });
});
