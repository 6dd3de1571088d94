import { describe, expect, it } from 'vitest';
import { splitIntoSubClients } from '../src';

const patients: Record<string, number> = Object.fromEntries(
  Array.from({ length: 23 }, (_, i) => [`p${String(i).padStart(2, '0')}`, 1 + ((i * 7) % 6)]),
);
const total = Object.values(patients).reduce((a, b) => a + b, 0);

describe('splitIntoSubClients', () => {
  it('deals whole patients into VN disjoint sub-clients that together hold every slice', () => {
    const split = splitIntoSubClients(patients, 5, 1);
    expect(split.effective).toBe(5);
    const all = split.groups.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(Object.keys(patients).sort());
    expect(split.slices.reduce((a, b) => a + b, 0)).toBe(total);
    split.groups.forEach((g, k) => expect(g.reduce((s, h) => s + patients[h]!, 0)).toBe(split.slices[k]));
  });

  it('balances sizes to within one patient', () => {
    const split = splitIntoSubClients(patients, 4, 2);
    const largestPatient = Math.max(...Object.values(patients));
    expect(Math.max(...split.slices) - Math.min(...split.slices)).toBeLessThanOrEqual(largestPatient);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const equalSizes = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`q${i}`, 3]));
    expect(splitIntoSubClients(equalSizes, 3, 9)).toEqual(splitIntoSubClients(equalSizes, 3, 9));
    expect(splitIntoSubClients(equalSizes, 3, 9).groups).not.toEqual(splitIntoSubClients(equalSizes, 3, 10).groups);
  });

  it('never splits a patient: with fewer patients than sub-clients it says so and uses one per patient', () => {
    const split = splitIntoSubClients({ a: 4, b: 2 }, 5, 1);
    expect(split.effective).toBe(2);
    expect(split.note).toMatch(/only 2 patients/);
    expect(() => splitIntoSubClients({}, 2, 1)).toThrow(/no patients/);
    expect(() => splitIntoSubClients(patients, 0, 1)).toThrow(/positive integer/);
  });
});
