/**
 * The round's public parameters and the messages the stages exchange. Every message is plain data
 * (strings, numbers, Uint8Array, Uint32Array) so a transport such as Socket.io can carry it as is.
 */
import type { ShamirShare } from './shamir';

/** Public parameters every participant and the server agree on before the round. */
export interface RoundConfig {
  /** Bound into every derived key and every ciphertext, e.g. "study-42/round-7". */
  context: string;
  /** Shamir threshold t: any t survivors can unmask, t − 1 colluders learn nothing. */
  threshold: number;
  /** Number of 32-bit words in each input vector. */
  length: number;
}

/** Stage 1 output, broadcast by the server to form the roster U1. */
export interface KeyAdvert {
  id: string;
  /** X25519 public key used to encrypt shares (c). */
  cPk: Uint8Array;
  /** X25519 public key used to agree pairwise mask keys (s). */
  sPk: Uint8Array;
}

/** Stage 2 output: one participant's shares of its s_sk and b, encrypted for one holder. */
export interface EncryptedShare {
  from: string;
  to: string;
  /** 12-byte IV ‖ AES-256-GCM ciphertext and 16-byte tag of the two encoded shares. */
  ciphertext: Uint8Array;
}

export interface RevealedShare {
  /** Whose secret this is a share of. */
  of: string;
  share: ShamirShare;
}

/** Stage 4 output. */
export interface RevealMessage {
  from: string;
  /** Shares of the s_sk of each participant that dropped after sending shares (U2 \ U3). */
  sShares: RevealedShare[];
  /** Shares of the self-mask seed b of each survivor (U3). */
  bShares: RevealedShare[];
}
