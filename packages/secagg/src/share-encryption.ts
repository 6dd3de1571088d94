/**
 * Authenticated encryption of the share pairs of stage 2: AES-256-GCM (WebCrypto) under a key derived
 * per (round, sender, recipient), a random 12-byte IV, and associated data context ‖ sender ‖ recipient.
 * A ciphertext re-labelled with another sender, recipient or round therefore fails to authenticate,
 * even though the server that relays it sees the labels.
 *
 * Plaintext: the holder's share of the sender's s_sk, then of its b (68 bytes each, see encodeShare).
 * Wire format: IV (12) ‖ ciphertext (136) ‖ tag (16) = 164 bytes.
 */
import { subtle } from './webcrypto';
import { bufferOf, concatBytes, encodeFields, isBytes, randomBytes } from './bytes';
import { SHARE_BYTES, decodeShare, encodeShare } from './shamir';
import type { ShamirShare } from './shamir';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const SHARE_CIPHERTEXT_BYTES = IV_BYTES + 2 * SHARE_BYTES + TAG_BYTES;

/** One holder's shares of one participant's two secrets. */
export interface SharePair {
  s: ShamirShare;
  b: ShamirShare;
}

function associatedData(context: string, from: string, to: string): Uint8Array<ArrayBuffer> {
  return encodeFields(['fedward/secagg/v1/shares', context, from, to]);
}

async function importGcmKey(key: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  if (!isBytes(key, 32)) throw new RangeError('share encryption: the key must be 32 bytes');
  return subtle().importKey('raw', bufferOf(key), { name: 'AES-GCM' }, false, [usage]);
}

export async function encryptSharePair(
  key: Uint8Array,
  context: string,
  from: string,
  to: string,
  pair: SharePair,
): Promise<Uint8Array> {
  const iv = randomBytes(IV_BYTES);
  const sealed = await subtle().encrypt(
    { name: 'AES-GCM', iv, additionalData: associatedData(context, from, to), tagLength: 8 * TAG_BYTES },
    await importGcmKey(key, 'encrypt'),
    concatBytes(encodeShare(pair.s), encodeShare(pair.b)),
  );
  return concatBytes(iv, new Uint8Array(sealed));
}

/** Throws if the ciphertext does not authenticate under this key, round, sender and recipient. */
export async function decryptSharePair(
  key: Uint8Array,
  context: string,
  from: string,
  to: string,
  ciphertext: Uint8Array,
): Promise<SharePair> {
  if (!isBytes(ciphertext, SHARE_CIPHERTEXT_BYTES)) {
    const size = (ciphertext as { length?: number } | undefined)?.length;
    throw new Error(
      `share from '${from}' to '${to}': ciphertext is ${size} bytes, expected ${SHARE_CIPHERTEXT_BYTES}`,
    );
  }
  let plain: ArrayBuffer;
  try {
    plain = await subtle().decrypt(
      {
        name: 'AES-GCM',
        iv: bufferOf(ciphertext.subarray(0, IV_BYTES)),
        additionalData: associatedData(context, from, to),
        tagLength: 8 * TAG_BYTES,
      },
      await importGcmKey(key, 'decrypt'),
      bufferOf(ciphertext.subarray(IV_BYTES)),
    );
  } catch (cause) {
    throw new Error(
      `share from '${from}' to '${to}' failed to authenticate (tampered, re-labelled, or from another round)`,
      { cause },
    );
  }
  const bytes = new Uint8Array(plain);
  return {
    s: decodeShare(bytes.subarray(0, SHARE_BYTES)),
    b: decodeShare(bytes.subarray(SHARE_BYTES)),
  };
}
