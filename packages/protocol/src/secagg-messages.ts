import { z } from 'zod';
import { binarySchema } from './messages';

/*
 * Secure aggregation's messages (issue 15), one per protocol stage, over the same Socket.io
 * channel as the rest. The server relays public keys and encrypted shares; it never receives a
 * hospital's update in the clear, only its masked sum (an `update-begin` with `masked`).
 *
 *   round-start { secagg }   →  1. 'secagg-keys'    each participant's two public keys
 *   'secagg-roster'          →  2. 'secagg-shares'  Shamir shares of its secrets, encrypted per holder
 *   'secagg-shares-in'       →  3. masked upload    y = x + self mask + Σ pairwise masks (mod 2^32)
 *   'secagg-unmask'          →  4. 'secagg-reveal'  the shares that remove the masks of who dropped
 */

/** Participant ids are hospital names. */
const id = z.string().min(1).max(200);
const key32 = binarySchema.refine((v) => v.byteLength === 32, { message: 'a public key has 32 bytes' });
/** An encrypted share pair: AES-GCM of two ~70-byte shares; generous, never huge. */
const ciphertext = binarySchema.refine((v) => v.byteLength > 0 && v.byteLength <= 4096, { message: 'an encrypted share has 1 to 4096 bytes' });
const share = binarySchema.refine((v) => v.byteLength > 0 && v.byteLength <= 256, { message: 'a share has 1 to 256 bytes' });
const round = z.number().int().positive();
/** At most this many participants in one secure aggregation (messages are sized from it). */
export const SECAGG_MAX_PARTICIPANTS = 1000;

/** What a round asks of each participant under secure aggregation (in round-start). */
export interface SecAggRoundSettings {
  /** t: shares needed to reconstruct; the round completes while at least t participants remain. */
  threshold: number;
  /** Binds every derived key to this study and round (and attempt): keys never serve twice. */
  context: string;
  /** C of the round's grid (the grid itself follows from C and the model size: gridFor). */
  clip: number;
  /** The contribution's shape beyond the model's sums (see GridContribution). */
  countUnclipped: boolean;
  normSum: boolean;
  /** Ring elements in the masked vector: the model's size plus the extra coordinates. */
  length: number;
  /** How long each stage after the first waits for answers, in ms. */
  stageTimeoutMs: number;
}

export const secaggKeysSchema = z.object({ round, cPk: key32, sPk: key32 });
export type SecAggKeys = z.infer<typeof secaggKeysSchema>;

export const secaggSharesSchema = z.object({
  round,
  shares: z.array(z.object({ to: id, ciphertext })).min(1).max(SECAGG_MAX_PARTICIPANTS),
});
export type SecAggShares = z.infer<typeof secaggSharesSchema>;

export const secaggRevealSchema = z.object({
  round,
  /** Shares of the mask keys of participants that dropped before uploading. */
  sShares: z.array(z.object({ of: id, share })).max(SECAGG_MAX_PARTICIPANTS),
  /** Shares of the self-mask seeds of participants that uploaded. */
  bShares: z.array(z.object({ of: id, share })).max(SECAGG_MAX_PARTICIPANTS),
});
export type SecAggReveal = z.infer<typeof secaggRevealSchema>;

/** Stage 2's request: everyone who advertised keys (U1), sorted by id. */
export interface SecAggRoster {
  round: number;
  roster: { id: string; cPk: Uint8Array | ArrayBuffer; sPk: Uint8Array | ArrayBuffer }[];
}

/** Stage 3's request: who sent shares (U2) and the encrypted shares addressed to this participant. */
export interface SecAggSharesIn {
  round: number;
  u2: string[];
  shares: { from: string; to: string; ciphertext: Uint8Array | ArrayBuffer }[];
}

/** Stage 4's request: who dropped before uploading and who uploaded (together: U2). */
export interface SecAggUnmask {
  round: number;
  dropped: string[];
  survivors: string[];
}

export const SECAGG_STAGES = ['advertise', 'share', 'mask', 'reveal'] as const;
export type SecAggStage = (typeof SECAGG_STAGES)[number];

/** A round's secure aggregation as the admin and the hospitals see it (public: who took part at each step). */
export interface SecAggView {
  threshold: number;
  /** The stage the round is in, or 'done' / 'failed'. */
  stage: SecAggStage | 'done' | 'failed';
  /** Participants asked (those the round started with). */
  participants: number;
  /** Who left, and after which stage they were last heard from. */
  dropped: { hospital: string; stage: SecAggStage }[];
  /** Participants whose masked inputs are in the sum (set once known). */
  summed: number | null;
  /** Why the round failed (the stage and the counts), when it did. */
  failure: string | null;
}
