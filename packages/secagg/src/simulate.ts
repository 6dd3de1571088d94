/**
 * An in-memory round: every participant runs the real stage functions, a simulated server relays the
 * messages, applies the threshold checks and unmasks. Participants drop out at the stage boundaries:
 *
 *   'advertise'  advertised keys, sent no shares                  → in U1 only; input not in the sum
 *   'share'      sent shares, gone before receiving the others'   → in U2, not U3; input not in the sum
 *   'mask'       received shares, masked input never arrived      → in U2, not U3; input not in the sum
 *   'reveal'     masked input arrived, never revealed shares      → in U3; input IS in the sum
 *
 * ('share' and 'mask' look the same to the server; they differ in what the participant received.)
 */
import { requireThreshold } from './errors';
import { advertiseKeys, maskInput, revealShares, shareKeys } from './participant';
import type { ParticipantState } from './participant';
import type { ParticipantKeys } from './keys';
import { sortIds, validateThreshold } from './roster';
import { unmaskSum } from './server';
import type { EncryptedShare, KeyAdvert, RevealMessage } from './types';
import { wireBytes } from './wire';

export type DropStage = 'advertise' | 'share' | 'mask' | 'reveal';
const DROP_STAGES: readonly DropStage[] = ['advertise', 'share', 'mask', 'reveal'];

export interface SecAggRoundOptions {
  context: string;
  threshold: number;
  /** Each participant's input, already in the ring (see toRing); all the same length. */
  inputs: ReadonlyMap<string, Uint32Array>;
  dropAfter?: readonly { stage: DropStage; ids: readonly string[] }[];
}

/** Bytes one participant sent (advert, sharesOut, masked, reveal) and received (the rest). */
export interface ParticipantBytes {
  advert: number;
  /** The roster (everyone's adverts) from the server. */
  rosterIn: number;
  sharesOut: number;
  /** The shares addressed to it, and the U2 list. */
  sharesIn: number;
  masked: number;
  /** The dropped and survivor lists of stage 4. */
  listsIn: number;
  reveal: number;
  total: number;
}

export interface SecAggRoundResult {
  /** Σ of the survivors' inputs in Z_{2^32}. */
  sum: Uint32Array;
  /** U3: whose inputs are in the sum. */
  survivors: string[];
  /** Everyone else: their inputs are not in the sum. */
  dropped: string[];
  /** Who revealed shares (U5 ⊆ U3). */
  revealed: string[];
  bytes: {
    /** The participant with the most traffic (one that went through every stage). */
    perParticipant: ParticipantBytes;
    byParticipant: Record<string, ParticipantBytes>;
  };
  /** Wall-clock milliseconds: stage 2 and stage 3 per participant (run one at a time), the server's unmasking. */
  timings: { shareMs: Record<string, number>; maskMs: Record<string, number>; unmaskMs: number };
}

const now = () => globalThis.performance.now();

export async function runSecAggRound(options: SecAggRoundOptions): Promise<SecAggRoundResult> {
  const where = 'runSecAggRound';
  const { context, threshold, inputs } = options;
  const ids = sortIds(inputs.keys());
  const length = inputs.get(ids[0] ?? '')?.length ?? 0;
  for (const [id, x] of inputs) {
    if (!(x instanceof Uint32Array) || x.length !== length) {
      throw new RangeError(`${where}: the input of '${id}' is not a Uint32Array of ${length} words like the first one`);
    }
  }
  validateThreshold(threshold, ids.length, where);
  const dropAt = new Map<string, DropStage>();
  for (const { stage, ids: dropIds } of options.dropAfter ?? []) {
    if (!DROP_STAGES.includes(stage)) throw new RangeError(`${where}: unknown dropout stage '${String(stage)}'`);
    for (const id of dropIds) {
      if (!inputs.has(id)) throw new Error(`${where}: cannot drop '${id}', who has no input`);
      if (dropAt.has(id)) throw new Error(`${where}: '${id}' is dropped twice`);
      dropAt.set(id, stage);
    }
  }
  const config = { context, threshold, length };
  const bytes: Record<string, ParticipantBytes> = Object.fromEntries(
    ids.map((id) => [id, { advert: 0, rosterIn: 0, sharesOut: 0, sharesIn: 0, masked: 0, listsIn: 0, reveal: 0, total: 0 }]),
  );
  const count = (id: string) => bytes[id]!;
  const timings: SecAggRoundResult['timings'] = { shareMs: {}, maskMs: {}, unmaskMs: 0 };

  // Stage 1: everyone advertises; the server broadcasts the roster U1.
  const secrets = new Map<string, ParticipantKeys>();
  const roster: KeyAdvert[] = [];
  for (const id of ids) {
    const { secret, advert } = advertiseKeys(id);
    secrets.set(id, secret);
    roster.push(advert);
    count(id).advert = wireBytes(advert);
  }

  // Stage 2: those still here share their keys; the server's list of senders is U2.
  const states = new Map<string, ParticipantState>();
  const mailbox = new Map<string, EncryptedShare[]>(ids.map((id) => [id, []]));
  for (const id of ids) {
    if (dropAt.get(id) === 'advertise') continue;
    count(id).rosterIn = wireBytes(roster);
    const t0 = now();
    const { state, shares } = await shareKeys(secrets.get(id)!, config, roster);
    timings.shareMs[id] = now() - t0;
    states.set(id, state);
    count(id).sharesOut = wireBytes(shares);
    for (const share of shares) mailbox.get(share.to)!.push(share);
  }
  const u2 = sortIds(states.keys());
  requireThreshold('sharing', u2.length, ids.length, threshold, 'sent shares');

  // Stage 3: the server forwards U2 and each member's shares (from U2 only); survivors mask.
  const masked = new Map<string, Uint32Array>();
  for (const id of u2) {
    if (dropAt.get(id) === 'share') continue;
    const received = mailbox.get(id)!.filter((m) => states.has(m.from));
    count(id).sharesIn = wireBytes(received) + wireBytes(u2);
    if (dropAt.get(id) === 'mask') continue;
    const t0 = now();
    const y = await maskInput(states.get(id)!, inputs.get(id)!, u2, received);
    timings.maskMs[id] = now() - t0;
    masked.set(id, y);
    count(id).masked = wireBytes(y);
  }
  const survivors = sortIds(masked.keys());
  requireThreshold('masking', survivors.length, u2.length, threshold, 'sent masked inputs');
  const droppedFromU2 = u2.filter((id) => !masked.has(id));

  // Stage 4: the server announces who dropped and who survived; survivors still here reveal.
  const reveals: RevealMessage[] = [];
  for (const id of survivors) {
    count(id).listsIn = wireBytes(droppedFromU2) + wireBytes(survivors);
    if (dropAt.get(id) === 'reveal') continue;
    const reveal = revealShares(states.get(id)!, droppedFromU2, survivors);
    reveals.push(reveal);
    count(id).reveal = wireBytes(reveal);
  }

  const t0 = now();
  const result = await unmaskSum(config, roster, u2, masked, reveals);
  timings.unmaskMs = now() - t0;

  for (const id of ids) {
    const b = count(id);
    b.total = b.advert + b.rosterIn + b.sharesOut + b.sharesIn + b.masked + b.listsIn + b.reveal;
  }
  const perParticipant = ids.map(count).reduce((best, b) => (b.total > best.total ? b : best));
  return {
    sum: result.sum,
    survivors: result.survivors,
    dropped: ids.filter((id) => !masked.has(id)),
    revealed: sortIds(reveals.map((r) => r.from)),
    bytes: { perParticipant: { ...perParticipant }, byParticipant: bytes },
    timings,
  };
}
