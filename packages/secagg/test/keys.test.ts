import { describe, expect, it } from 'vitest';
import {
  agree,
  decryptSharePair,
  deriveKey,
  encryptSharePair,
  generateParticipantKeys,
  pairwiseMaskKey,
  shamirSplit,
  randomBytes,
  shareEncryptionKey,
  SHARE_CIPHERTEXT_BYTES,
} from '../src/index';

describe('key agreement and derivation', () => {
  it('pairwise mask keys are symmetric and bound to context and pair', () => {
    const a = generateParticipantKeys('a');
    const b = generateParticipantKeys('b');
    const c = generateParticipantKeys('c');
    const ab = pairwiseMaskKey(a.sSk, b.sPk, 'study/round-1', 'a', 'b');
    expect(pairwiseMaskKey(b.sSk, a.sPk, 'study/round-1', 'b', 'a')).toEqual(ab);
    expect(ab.length).toBe(32);
    expect(pairwiseMaskKey(a.sSk, b.sPk, 'study/round-2', 'a', 'b')).not.toEqual(ab);
    expect(pairwiseMaskKey(a.sSk, b.sPk, 'study/round-1', 'a', 'c')).not.toEqual(ab);
    expect(pairwiseMaskKey(a.sSk, c.sPk, 'study/round-1', 'a', 'c')).not.toEqual(ab);
  });

  it('binds the purpose, and field boundaries are unambiguous', () => {
    const shared = agree(generateParticipantKeys('a').cSk, generateParticipantKeys('b').cPk);
    const k = deriveKey(shared, 'pairwise-mask', 'ctx', ['a', 'b']);
    expect(deriveKey(shared, 'share-encryption', 'ctx', ['a', 'b'])).not.toEqual(k);
    expect(deriveKey(shared, 'pairwise-mask', 'ctx', ['b', 'a'])).not.toEqual(k);
    expect(deriveKey(shared, 'pairwise-mask', 'ct', ['xa', 'b'])).not.toEqual(deriveKey(shared, 'pairwise-mask', 'ctx', ['a', 'b']));
    expect(deriveKey(shared, 'pairwise-mask', 'ctx', ['ab', ''])).not.toEqual(deriveKey(shared, 'pairwise-mask', 'ctx', ['a', 'b']));
  });

  it('share-encryption keys are directional', () => {
    const a = generateParticipantKeys('a');
    const b = generateParticipantKeys('b');
    const ab = shareEncryptionKey(a.cSk, b.cPk, 'ctx', 'a', 'b');
    expect(shareEncryptionKey(b.cSk, a.cPk, 'ctx', 'a', 'b')).toEqual(ab);
    expect(shareEncryptionKey(b.cSk, a.cPk, 'ctx', 'b', 'a')).not.toEqual(ab);
  });

  it('refuses low-order public keys', () => {
    expect(() => agree(randomBytes(32), new Uint8Array(32))).toThrow(/key agreement/);
  });
});

describe('share encryption (AES-256-GCM)', () => {
  const pair = () => {
    const s = shamirSplit(randomBytes(32), 2, 3)[1]!;
    const b = shamirSplit(randomBytes(32), 2, 3)[1]!;
    return { s, b };
  };

  it('round-trips and fails on any change of bytes, labels or round', async () => {
    const key = randomBytes(32);
    const p = pair();
    const ct = await encryptSharePair(key, 'ctx', 'a', 'b', p);
    expect(ct.length).toBe(SHARE_CIPHERTEXT_BYTES);
    expect(await decryptSharePair(key, 'ctx', 'a', 'b', ct)).toEqual(p);
    for (const i of [0, 11, 12, 100, ct.length - 1]) {
      const bad = ct.slice();
      bad[i]! ^= 1;
      await expect(decryptSharePair(key, 'ctx', 'a', 'b', bad)).rejects.toThrow(/failed to authenticate/);
    }
    await expect(decryptSharePair(key, 'ctx', 'a', 'c', ct)).rejects.toThrow(/failed to authenticate/);
    await expect(decryptSharePair(key, 'ctx', 'b', 'a', ct)).rejects.toThrow(/failed to authenticate/);
    await expect(decryptSharePair(key, 'ctx2', 'a', 'b', ct)).rejects.toThrow(/failed to authenticate/);
    await expect(decryptSharePair(randomBytes(32), 'ctx', 'a', 'b', ct)).rejects.toThrow(/failed to authenticate/);
    await expect(decryptSharePair(key, 'ctx', 'a', 'b', ct.subarray(1))).rejects.toThrow(/bytes, expected/);
  });

  it('uses a fresh IV each time', async () => {
    const key = randomBytes(32);
    const p = pair();
    const a = await encryptSharePair(key, 'ctx', 'a', 'b', p);
    const b = await encryptSharePair(key, 'ctx', 'a', 'b', p);
    expect(a.subarray(0, 12)).not.toEqual(b.subarray(0, 12));
  });
});
