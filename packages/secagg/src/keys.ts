/**
 * X25519 key pairs, key agreement, and HKDF-SHA256 key derivation.
 *
 * Every derived key binds a purpose label, the round's context and both participant ids in its HKDF
 * info, so a key derived for one purpose, round or pair can never be used for another even though the
 * same X25519 key pairs would give the same shared secret.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeFields, isBytes } from './bytes';
import { compareIds } from './roster';

export const KEY_BYTES = 32;
const LABEL = 'fedward/secagg/v1';

/** A participant's secret key material for one round (never leaves the participant). */
export interface ParticipantKeys {
  id: string;
  /** Encryption key pair: shares sent to this participant are encrypted under keys agreed with cPk. */
  cSk: Uint8Array;
  cPk: Uint8Array;
  /** Mask key pair: pairwise mask keys are agreed with sSk; sSk is Shamir-shared. */
  sSk: Uint8Array;
  sPk: Uint8Array;
}

export type KeyPurpose = 'share-encryption' | 'pairwise-mask';

export function generateKeyPair(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/** Fresh c and s key pairs for one round. */
export function generateParticipantKeys(id: string): ParticipantKeys {
  const c = generateKeyPair();
  const s = generateKeyPair();
  return { id, cSk: c.secretKey, cPk: c.publicKey, sSk: s.secretKey, sPk: s.publicKey };
}

/**
 * The raw X25519 shared secret. noble rejects low-order public keys (which would force an all-zero
 * secret whatever our key); the error is rethrown with who is involved.
 */
export function agree(secretKey: Uint8Array, publicKey: Uint8Array, peer = 'peer'): Uint8Array {
  if (!isBytes(secretKey, KEY_BYTES) || !isBytes(publicKey, KEY_BYTES)) {
    throw new RangeError(`agree: X25519 keys are ${KEY_BYTES} bytes`);
  }
  try {
    return x25519.getSharedSecret(secretKey, publicKey);
  } catch (cause) {
    throw new Error(`agree: key agreement with ${peer} failed (invalid or low-order public key)`, { cause });
  }
}

/**
 * HKDF-SHA256(ikm = shared, salt = none, info = label ‖ purpose ‖ context ‖ ids), 32 bytes. The ids are
 * bound in the order given: callers pass them sorted for a symmetric key, (sender, recipient) for a
 * directional one.
 */
export function deriveKey(
  shared: Uint8Array,
  purpose: KeyPurpose,
  context: string,
  ids: readonly [string, string],
): Uint8Array {
  return hkdf(sha256, shared, undefined, encodeFields([LABEL, purpose, context, ids[0], ids[1]]), KEY_BYTES);
}

/**
 * The AES-CTR key of the pairwise mask between a and b: HKDF(X25519(s_sk_a, s_pk_b)). Symmetric (the ids
 * are bound in sorted order), so a and b — and the server, once it has reconstructed either s_sk — get
 * the same key.
 */
export function pairwiseMaskKey(
  sSk: Uint8Array,
  peerSPk: Uint8Array,
  context: string,
  a: string,
  b: string,
): Uint8Array {
  const ids: [string, string] = compareIds(a, b) < 0 ? [a, b] : [b, a];
  return deriveKey(agree(sSk, peerSPk, `'${a}'/'${b}'`), 'pairwise-mask', context, ids);
}

/**
 * The AES-GCM key for shares sent from `from` to `to`: HKDF(X25519(c_sk, c_pk_peer)) with the ids in
 * (sender, recipient) order, so each direction of a pair has its own key.
 */
export function shareEncryptionKey(
  cSk: Uint8Array,
  peerCPk: Uint8Array,
  context: string,
  from: string,
  to: string,
): Uint8Array {
  return deriveKey(agree(cSk, peerCPk, `'${from}'/'${to}'`), 'share-encryption', context, [from, to]);
}
