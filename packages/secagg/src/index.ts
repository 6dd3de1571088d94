/**
 * @fedward/secagg: the platform-free core of SecAgg (Bonawitz et al., CCS 2017) on the complete graph.
 * See README.md for the stages, the crypto and the threat model.
 */
export { advertiseKeys, shareKeys, maskInput, revealShares, validateConfig, MAX_LENGTH, SELF_MASK_KEY_BYTES } from './participant';
export type { ParticipantState } from './participant';
export { unmaskSum } from './server';
export type { UnmaskResult } from './server';
export { runSecAggRound } from './simulate';
export type { DropStage, ParticipantBytes, SecAggRoundOptions, SecAggRoundResult } from './simulate';
export type { EncryptedShare, KeyAdvert, RevealedShare, RevealMessage, RoundConfig } from './types';
export { ThresholdError, requireThreshold } from './errors';
export type { SecAggStage } from './errors';
export { toRing, fromRing, addInto, subInto, ringAdd, ringSub, ringSum } from './ring';
export {
  FIELD_PRIME,
  SECRET_BYTES,
  SHARE_BYTES,
  SHARE_Y_BYTES,
  MAX_SHARES,
  shamirSplit,
  shamirCombine,
  encodeShare,
  decodeShare,
  evaluatePolynomial,
  interpolatePolynomial,
  lagrangeWeights,
  randomFieldElement,
  invert,
  mod,
} from './shamir';
export type { ShamirShare } from './shamir';
export {
  KEY_BYTES,
  agree,
  deriveKey,
  generateKeyPair,
  generateParticipantKeys,
  pairwiseMaskKey,
  publicKeyOf,
  shareEncryptionKey,
} from './keys';
export type { KeyPurpose, ParticipantKeys } from './keys';
export { prg, addPrgInto, PRG_CHUNK_WORDS } from './prg';
export { encryptSharePair, decryptSharePair, SHARE_CIPHERTEXT_BYTES, IV_BYTES, TAG_BYTES } from './share-encryption';
export type { SharePair } from './share-encryption';
export { compareIds, sortIds, validateRoster, validateIdList, validateThreshold } from './roster';
export type { ValidatedRoster } from './roster';
export { wireBytes } from './wire';
export { bytesToBigInt, bigIntToBytes, bytesEqual, encodeFields, randomBytes, toHex } from './bytes';
