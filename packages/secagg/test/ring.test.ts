import { describe, expect, it } from 'vitest';
import { addInto, fromRing, ringAdd, ringSub, ringSum, subInto, toRing } from '../src/index';

describe('ring Z_2^32', () => {
  it('round-trips signed integers with |v| < 2^31', () => {
    const values = Float64Array.from([0, 1, -1, 2 ** 31 - 1, -(2 ** 31 - 1), 123456, -987654]);
    expect(Array.from(fromRing(toRing(values)))).toEqual(Array.from(values));
    expect(toRing([-1])[0]).toBe(0xffffffff);
  });

  it('reads words ≥ 2^31 as negative', () => {
    expect(Array.from(fromRing(Uint32Array.from([2 ** 31, 2 ** 32 - 1, 2 ** 31 - 1])))).toEqual([
      -(2 ** 31),
      -1,
      2 ** 31 - 1,
    ]);
  });

  it('throws a RangeError naming the index of a bad value', () => {
    expect(() => toRing([1, 2, 2.5])).toThrow(RangeError);
    expect(() => toRing([1, 2, 2.5])).toThrow(/values\[2\]/);
    expect(() => toRing([0, 2 ** 31])).toThrow(/values\[1\].*out of range/);
    expect(() => toRing([-(2 ** 31)])).toThrow(/values\[0\]/);
    expect(() => toRing([0, 0, 0, NaN])).toThrow(/values\[3\].*not an integer/);
    expect(() => toRing([Infinity])).toThrow(/values\[0\]/);
  });

  it('adds and subtracts mod 2^32, wrapping exactly', () => {
    const a = Uint32Array.from([0xffffffff, 5, 0]);
    const b = Uint32Array.from([2, 7, 1]);
    expect(Array.from(ringAdd(a, b))).toEqual([1, 12, 1]);
    expect(Array.from(ringSub(b, a))).toEqual([3, 2, 1]);
    expect(Array.from(subInto(addInto(new Uint32Array(a), b), b))).toEqual(Array.from(a));
    expect(Array.from(ringSum([a, b, b]))).toEqual([3, 19, 2]);
    expect(Array.from(ringSum([], 2))).toEqual([0, 0]);
    expect(() => ringAdd(a, new Uint32Array(2))).toThrow(/lengths differ/);
  });
});
