/**
 * The server's side: checks the threshold at each stage and, at the end, removes the masks.
 *
 *   Σ_{u ∈ U3} y_u = Σ x_u + Σ_{u ∈ U3} PRG(b_u) + Σ_{u ∈ U3, v ∈ U2 \ U3} ±PRG(k_uv)
 *
 * (pairs inside U3 cancel). The server reconstructs each survivor's b and each dropped participant's
 * s_sk from the revealed shares, and subtracts those masks.
 */
import { bytesEqual } from './bytes';
import { requireThreshold } from './errors';
import { pairwiseMaskKey, publicKeyOf } from './keys';
import { validateConfig } from './participant';
import { addPrgInto } from './prg';
import { compareIds, validateIdList, validateRoster } from './roster';
import { shamirCombine } from './shamir';
import type { ShamirShare } from './shamir';
import type { KeyAdvert, RevealMessage, RoundConfig } from './types';

export interface UnmaskResult {
  /** Σ x_u over the survivors, in Z_{2^32} (fromRing reads it as signed). */
  sum: Uint32Array;
  /** U3: whose inputs are in the sum, sorted. */
  survivors: string[];
  /** U2 \ U3: sent shares but no masked input, sorted. Their inputs are not in the sum. */
  dropped: string[];
}

function combineOrThrow(shares: ShamirShare[], threshold: number, what: string, of: string): Uint8Array {
  try {
    return shamirCombine(shares, threshold);
  } catch (cause) {
    throw new Error(`unmasking: the ${what} shares revealed for '${of}' do not reconstruct it: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/**
 * Recovers Σ_{u ∈ U3} x_u from the masked inputs (U3 = their senders) and the reveals of at least t
 * survivors. Throws a ThresholdError naming the stage and counts when fewer than t remain, and an
 * Error when a reveal is malformed or a reconstructed s_sk does not match its advertised public key.
 *
 * Forged shares: a wrong s share is always caught by the public-key check. A wrong b share can only be
 * caught when more than t shares of that b are available (shamirCombine checks the extra ones lie on
 * the polynomial the first t define); with exactly t shares any values define some polynomial, and a
 * share holder who crafts its share can shift b undetected (a share replaced by random bytes is still
 * caught, see shamir.ts). Detecting that needs commitments to the shares (verifiable secret sharing), out of scope.
 */
export async function unmaskSum(
  config: RoundConfig,
  roster: readonly KeyAdvert[],
  u2: readonly string[],
  maskedInputs: ReadonlyMap<string, Uint32Array>,
  reveals: readonly RevealMessage[],
): Promise<UnmaskResult> {
  const where = 'unmaskSum';
  validateConfig(config, where);
  const t = config.threshold;
  const { members, index } = validateRoster(roster, t, where);
  const rosterById = new Map(members.map((m) => [m.id, m]));
  const senders = validateIdList(u2, rosterById, 'U2', 'the roster', where);
  requireThreshold('sharing', senders.length, members.length, t, 'sent shares');
  const u2Set = new Set(senders);
  const survivors = validateIdList([...maskedInputs.keys()], u2Set, 'the masked inputs', 'U2', where);
  requireThreshold('masking', survivors.length, senders.length, t, 'sent masked inputs');
  const survivorSet = new Set(survivors);
  const dropped = senders.filter((v) => !survivorSet.has(v));
  const droppedSet = new Set(dropped);

  // Every reveal must come from a distinct survivor and carry exactly the shares asked for.
  const revealers = validateIdList(reveals.map((r) => r?.from), survivorSet, 'the reveals', 'U3', where);
  requireThreshold('unmasking', revealers.length, survivors.length, t, 'revealed shares');
  const sShares = new Map<string, ShamirShare[]>(dropped.map((v) => [v, []]));
  const bShares = new Map<string, ShamirShare[]>(survivors.map((v) => [v, []]));
  for (const reveal of reveals) {
    const x = index.get(reveal.from)!;
    const collect = (list: RevealMessage['sShares'], into: Map<string, ShamirShare[]>, kind: string, expected: Set<string>) => {
      const ofs = validateIdList(
        (list ?? []).map((r) => r?.of),
        expected,
        `the ${kind} shares from '${reveal.from}'`,
        kind === 's' ? 'U2 \\ U3' : 'U3',
        where,
      );
      if (ofs.length !== expected.size) {
        throw new Error(`${where}: '${reveal.from}' revealed ${ofs.length} ${kind} shares, expected ${expected.size}`);
      }
      for (const { of, share } of list) {
        if (share?.x !== x) {
          throw new Error(`${where}: '${reveal.from}' revealed a ${kind} share of '${of}' at x = ${share?.x}, its x is ${x}`);
        }
        into.get(of)!.push(share);
      }
    };
    collect(reveal.sShares, sShares, 's', droppedSet);
    collect(reveal.bShares, bShares, 'b', survivorSet);
  }

  const sum = new Uint32Array(config.length);
  for (const v of survivors) {
    const y = maskedInputs.get(v)!;
    if (!(y instanceof Uint32Array) || y.length !== config.length) {
      throw new RangeError(`${where}: the masked input of '${v}' is not a Uint32Array of ${config.length} words`);
    }
    for (let i = 0; i < sum.length; i++) sum[i] = ((sum[i] as number) + (y[i] as number)) >>> 0;
  }

  // Survivors: remove PRG(b_v).
  for (const v of survivors) {
    const b = combineOrThrow(bShares.get(v)!, t, 'b', v);
    await addPrgInto(sum, b, -1);
  }

  // Dropped: each survivor w added sign(w, v)·PRG(k_wv) (+ when w < v); remove it.
  for (const v of dropped) {
    const sSk = combineOrThrow(sShares.get(v)!, t, 's_sk', v);
    if (!bytesEqual(publicKeyOf(sSk), rosterById.get(v)!.sPk)) {
      throw new Error(
        `unmasking: the s_sk reconstructed for '${v}' does not match its advertised public key (a forged or corrupted s share)`,
      );
    }
    for (const w of survivors) {
      const key = pairwiseMaskKey(sSk, rosterById.get(w)!.sPk, config.context, v, w);
      await addPrgInto(sum, key, compareIds(w, v) < 0 ? -1 : 1);
    }
  }
  return { sum, survivors, dropped };
}
