import { describe, expect, it } from 'vitest';
import { hasFields, receiptFields } from '../src';

describe('receiptFields', () => {
  it('keeps values as sent and turns every binary value (ArrayBuffer, typed array, Node Buffer) into its length', () => {
    const r = receiptFields({ round: 3, backend: 'wasm', chunk: new Uint8Array(10), raw: new ArrayBuffer(6), node: Buffer.alloc(4), nested: { a: 1 } });
    expect(r.fields).toEqual({ round: 3, backend: 'wasm', chunk: { binaryBytes: 10 }, raw: { binaryBytes: 6 }, node: { binaryBytes: 4 }, nested: { a: 1 } });
    expect(r.binaryBytes).toBe(20);
  });

  it('tells a message with fields from a bare binary value or nothing', () => {
    expect(hasFields({ a: 1 })).toBe(true);
    expect(hasFields(new Uint8Array(2))).toBe(false);
    expect(hasFields(null)).toBe(false);
    expect(hasFields('x')).toBe(false);
  });
});
