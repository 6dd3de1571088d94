import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addPrgInto, prg, randomBytes } from '../src/index';

describe('prg (AES-256-CTR keystream)', () => {
  it('is the AES-256-CTR keystream from counter 0, read as little-endian uint32', async () => {
    const key = randomBytes(32);
    const length = 1001; // not a whole number of blocks
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    const stream = Buffer.concat([cipher.update(Buffer.alloc(4 * length)), cipher.final()]);
    const expected = Uint32Array.from({ length }, (_, i) => stream.readUInt32LE(4 * i));
    expect(await prg(key, length)).toEqual(expected);
  });

  it('does not depend on the chunk size', async () => {
    const key = randomBytes(32);
    const whole = await prg(key, 10_007);
    for (const chunk of [4, 64, 1000, 4096]) expect(await prg(key, 10_007, chunk)).toEqual(whole);
    expect((await prg(key, 50)).subarray(0, 50)).toEqual(whole.subarray(0, 50));
  });

  it('differs between keys, and adds/subtracts in place', async () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    expect(await prg(a, 64)).not.toEqual(await prg(b, 64));
    const x = Uint32Array.from({ length: 300 }, (_, i) => i * 7919);
    const acc = new Uint32Array(x);
    await addPrgInto(acc, a, 1);
    expect(acc).not.toEqual(x);
    const p = await prg(a, 300);
    expect(acc).toEqual(x.map((v, i) => (v + p[i]!) >>> 0));
    await addPrgInto(acc, a, -1);
    expect(acc).toEqual(x);
  });

  it('refuses short keys', async () => {
    await expect(prg(new Uint8Array(16), 4)).rejects.toThrow(/32 bytes/);
  });
});
