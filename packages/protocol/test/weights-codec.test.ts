import { describe, expect, it } from 'vitest';
import { checkWeightsAgainst, decodeWeights, encodeWeights, specOf, type NamedTensor } from '../src';

const sample = (): NamedTensor[] => [
  { name: 'conv1/kernel', shape: [3, 3, 1, 4], values: Float32Array.from({ length: 36 }, (_, i) => i / 7 - 2) },
  { name: 'conv1/bias', shape: [4], values: new Float32Array([0.5, -1e-8, 3e30, -0]) },
  { name: 'empty', shape: [0], values: new Float32Array(0) },
];

describe('weights codec', () => {
  it('round-trips names, shapes and exact float32 bits', () => {
    const tensors = sample();
    const back = decodeWeights(encodeWeights(tensors));
    expect(back.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    expect(back.map((t) => t.shape)).toEqual(tensors.map((t) => t.shape));
    back.forEach((t, i) => expect(Array.from(t.values)).toEqual(Array.from(tensors[i]!.values)));
  });

  it('decodes from an unaligned Node Buffer as Socket.io delivers it', () => {
    const bytes = encodeWeights(sample());
    const padded = Buffer.alloc(bytes.length + 3);
    padded.set(bytes, 3);
    const back = decodeWeights(padded.subarray(3));
    expect(back[0]!.values[5]).toBeCloseTo(5 / 7 - 2, 6);
  });

  it('stores values as binary float32, not JSON text', () => {
    const bytes = encodeWeights(sample());
    const headerLength = new DataView(bytes.buffer).getUint32(4, true);
    expect(bytes.length - headerLength).toBeLessThan(8 + 4 + 40 * 4 + 4);
  });

  it('rejects truncated, foreign and malformed payloads with a reason', () => {
    const bytes = encodeWeights(sample());
    expect(() => decodeWeights(bytes.subarray(0, bytes.length - 4))).toThrow(/value bytes/);
    expect(() => decodeWeights(new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0]))).toThrow(/magic/);
    expect(() => decodeWeights('hello')).toThrow(/binary/);
    const lying = bytes.slice();
    new DataView(lying.buffer).setUint32(4, 1e6, true);
    expect(() => decodeWeights(lying)).toThrow(/header length/);
  });

  it('decodes views into the bytes when asked and the payload is aligned, copies otherwise', () => {
    const bytes = encodeWeights(sample());
    const views = decodeWeights(bytes, { copy: false });
    expect(views[0]!.values.buffer).toBe(bytes.buffer);
    expect(Array.from(views[1]!.values)).toEqual(Array.from(sample()[1]!.values));
    const padded = Buffer.alloc(bytes.length + 3);
    padded.set(bytes, 3);
    const unaligned = decodeWeights(padded.subarray(3), { copy: false });
    expect(unaligned[0]!.values.buffer).not.toBe(padded.buffer);
    expect(Array.from(unaligned[0]!.values)).toEqual(Array.from(sample()[0]!.values));
    expect(decodeWeights(bytes)[0]!.values.buffer).not.toBe(bytes.buffer);
  });

  it('refuses to encode a tensor whose values do not match its shape', () => {
    expect(() => encodeWeights([{ name: 'x', shape: [2, 2], values: new Float32Array(3) }])).toThrow(/needs 4/);
  });

  it('checks an update against the model: count, names, shapes, NaN', () => {
    const spec = specOf(sample());
    expect(checkWeightsAgainst(spec, sample())).toBeNull();
    expect(checkWeightsAgainst(spec, sample().slice(1))).toMatch(/expected 3 tensors/);
    const wrongShape = sample();
    wrongShape[1] = { name: 'conv1/bias', shape: [2, 2], values: new Float32Array(4) };
    expect(checkWeightsAgainst(spec, wrongShape)).toMatch(/conv1\/bias.*shape \[4\]/);
    const nan = sample();
    nan[0]!.values[7] = Number.NaN;
    expect(checkWeightsAgainst(spec, nan)).toMatch(/conv1\/kernel.*non-finite.*index 7/);
    expect(checkWeightsAgainst(spec, nan, { finite: false })).toBeNull();
    expect(checkWeightsAgainst(spec, wrongShape, { finite: false })).toMatch(/conv1\/bias.*shape \[4\]/);
  });
});
