/**
 * The ring Z_{2^32} the protocol masks and sums in. Vectors are Uint32Array; `>>> 0` reduces a JS
 * number mod 2^32, so every operation is exact (the operands are below 2^33, well inside a double's
 * 53-bit integers).
 */

const TWO_31 = 2 ** 31;

/**
 * Signed integers with |v| < 2^31 into the ring (two's complement). Throws a RangeError naming the
 * index of the first value that is not an integer or is out of range: a silent wrap-around would
 * corrupt the aggregate without a trace.
 */
export function toRing(values: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v)) throw new RangeError(`toRing: values[${i}] = ${v} is not an integer`);
    if (Math.abs(v) >= TWO_31) {
      throw new RangeError(`toRing: values[${i}] = ${v} is out of range (|v| must be below 2^31)`);
    }
    out[i] = v >>> 0;
  }
  return out;
}

/** Ring elements as signed integers: w ≥ 2^31 reads as w − 2^32. */
export function fromRing(words: Uint32Array): Float64Array {
  const out = new Float64Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = (words[i] as number) | 0;
  return out;
}

function sameLength(a: Uint32Array, b: Uint32Array, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} and ${b.length})`);
}

/** acc += v (mod 2^32), in place. */
export function addInto(acc: Uint32Array, v: Uint32Array): Uint32Array {
  sameLength(acc, v, 'addInto');
  for (let i = 0; i < acc.length; i++) acc[i] = ((acc[i] as number) + (v[i] as number)) >>> 0;
  return acc;
}

/** acc −= v (mod 2^32), in place. */
export function subInto(acc: Uint32Array, v: Uint32Array): Uint32Array {
  sameLength(acc, v, 'subInto');
  for (let i = 0; i < acc.length; i++) acc[i] = ((acc[i] as number) - (v[i] as number)) >>> 0;
  return acc;
}

export function ringAdd(a: Uint32Array, b: Uint32Array): Uint32Array {
  return addInto(new Uint32Array(a), b);
}

export function ringSub(a: Uint32Array, b: Uint32Array): Uint32Array {
  return subInto(new Uint32Array(a), b);
}

/** Σ vectors (mod 2^32); `length` is needed when the list may be empty. */
export function ringSum(vectors: Iterable<Uint32Array>, length?: number): Uint32Array {
  let acc: Uint32Array | undefined = length === undefined ? undefined : new Uint32Array(length);
  for (const v of vectors) {
    if (acc === undefined) acc = new Uint32Array(v);
    else addInto(acc, v);
  }
  if (acc === undefined) throw new RangeError('ringSum: no vectors and no length');
  return acc;
}
