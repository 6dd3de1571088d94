/**
 * The participant's side of the protocol, one function per stage, with the state carried between
 * stages in an explicit object (kept on the participant's machine, never sent).
 *
 *   1. advertiseKeys   → KeyAdvert to the server          (the server's list of adverts is U1)
 *   2. shareKeys       → EncryptedShare[] to the server   (the server's list of senders is U2)
 *   3. maskInput       → masked Uint32Array               (the server's list of senders is U3)
 *   4. revealShares    → RevealMessage                     (the server needs ≥ t of them)
 */
import { bytesEqual, isBytes, randomBytes } from './bytes';
import { requireThreshold } from './errors';
import { generateParticipantKeys, pairwiseMaskKey, shareEncryptionKey } from './keys';
import type { ParticipantKeys } from './keys';
import { addPrgInto } from './prg';
import { compareIds, validateIdList, validateRoster } from './roster';
import { shamirSplit } from './shamir';
import { decryptSharePair, encryptSharePair } from './share-encryption';
import type { SharePair } from './share-encryption';
import type { EncryptedShare, KeyAdvert, RevealMessage, RoundConfig } from './types';

/** Bytes of the self-mask key b (an AES-256 key). */
export const SELF_MASK_KEY_BYTES = 32;
/** Largest vector length accepted: 2^28 words (1 GiB), far beyond any model we train. */
export const MAX_LENGTH = 2 ** 28;

export interface ParticipantState {
  readonly keys: ParticipantKeys;
  readonly config: RoundConfig;
  /** U1, sorted by id. */
  readonly roster: readonly KeyAdvert[];
  /** This participant's 1-based index in the roster: the x of every share it holds. */
  readonly index: number;
  /** b_u: the AES-CTR key of the self mask. Secret; survivors' b are reconstructed by the server. */
  readonly selfMaskKey: Uint8Array;
  /**
   * This participant's own shares of its s_sk and b. Kept here, never encrypted nor sent: it holds
   * them itself, and reveals its share of its own b in stage 4 like every other survivor's.
   */
  readonly ownShares: SharePair;
  /** 'masking' while maskInput runs, so a second concurrent call is refused too. */
  stage: 'shared' | 'masking' | 'masked' | 'revealed';
  /** U2 as the server announced it in stage 3 (sorted), once maskInput has run. */
  u2: readonly string[] | null;
  /** The shares of each U2 member's secrets that this participant holds (itself included), after stage 3. */
  held: ReadonlyMap<string, SharePair>;
}

/** Stage 1: fresh key pairs for this round; `advert` goes to the server, `secret` stays. */
export function advertiseKeys(id: string): { secret: ParticipantKeys; advert: KeyAdvert } {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError('advertiseKeys: the id must be a non-empty string');
  const secret = generateParticipantKeys(id);
  return { secret, advert: { id, cPk: secret.cPk, sPk: secret.sPk } };
}

/** Checks the public round parameters (the threshold is checked against the roster later). */
export function validateConfig(config: RoundConfig, where: string): void {
  if (typeof config?.context !== 'string' || config.context.length === 0) {
    throw new TypeError(`${where}: the context must be a non-empty string (e.g. "study-id/round-7")`);
  }
  if (!Number.isInteger(config.length) || config.length < 1 || config.length > MAX_LENGTH) {
    throw new RangeError(`${where}: the vector length ${config.length} must be an integer in 1..${MAX_LENGTH}`);
  }
}

/**
 * Stage 2: draws b, Shamir-shares s_sk and b among every roster member (x = 1-based roster index),
 * and encrypts each member's pair of shares for it. Its own pair stays in the state.
 */
export async function shareKeys(
  secret: ParticipantKeys,
  config: RoundConfig,
  roster: readonly KeyAdvert[],
): Promise<{ state: ParticipantState; shares: EncryptedShare[] }> {
  const where = 'shareKeys';
  validateConfig(config, where);
  if (!isBytes(secret?.sSk, 32) || !isBytes(secret.cSk, 32)) throw new TypeError(`${where}: malformed participant keys`);
  const { members, index } = validateRoster(roster, config.threshold, where);
  const me = secret.id;
  const self = members.find((m) => m.id === me);
  if (!self) throw new Error(`${where}: the roster does not include this participant ('${me}')`);
  if (!bytesEqual(self.cPk, secret.cPk) || !bytesEqual(self.sPk, secret.sPk)) {
    throw new Error(`${where}: the roster entry for '${me}' does not carry this participant's public keys`);
  }
  const selfMaskKey = randomBytes(SELF_MASK_KEY_BYTES);
  const n = members.length;
  const sShares = shamirSplit(secret.sSk, config.threshold, n);
  const bShares = shamirSplit(selfMaskKey, config.threshold, n);
  let ownShares: SharePair | undefined;
  const shares: EncryptedShare[] = [];
  for (let i = 0; i < n; i++) {
    const member = members[i] as KeyAdvert;
    const pair = { s: sShares[i]!, b: bShares[i]! };
    if (member.id === me) {
      ownShares = pair;
      continue;
    }
    const key = shareEncryptionKey(secret.cSk, member.cPk, config.context, me, member.id);
    shares.push({
      from: me,
      to: member.id,
      ciphertext: await encryptSharePair(key, config.context, me, member.id, pair),
    });
  }
  const state: ParticipantState = {
    keys: secret,
    config: { ...config },
    roster: members,
    index: index.get(me)!,
    selfMaskKey,
    ownShares: ownShares!,
    stage: 'shared',
    u2: null,
    held: new Map(),
  };
  return { state, shares };
}

/**
 * Stage 3: y_u = x_u + PRG(b_u) + Σ_{v ∈ U2, v ≠ u} ±PRG(k_uv) (mod 2^32), + when u < v, − when u > v,
 * so each pair's masks cancel in the sum. Decrypts and keeps the received shares for stage 4.
 *
 * `u2` is the server's list of who sent shares; `received` the shares addressed to this participant,
 * exactly one from every other member of U2. Throws if |U2| < t, this participant is not in U2, a
 * share is mislabelled or fails to authenticate, or the input has the wrong length.
 */
export async function maskInput(
  state: ParticipantState,
  input: Uint32Array,
  u2: readonly string[],
  received: readonly EncryptedShare[],
): Promise<Uint32Array> {
  const where = 'maskInput';
  if (state.stage !== 'shared') {
    throw new Error(`${where}: already called for this round (stage is '${state.stage}'); a participant masks once`);
  }
  const { config, keys } = state;
  const me = keys.id;
  if (!(input instanceof Uint32Array)) throw new TypeError(`${where}: the input must be a Uint32Array (see toRing)`);
  if (input.length !== config.length) {
    throw new RangeError(`${where}: the input has ${input.length} words, the round's length is ${config.length}`);
  }
  const rosterById = new Map(state.roster.map((m) => [m.id, m]));
  const senders = validateIdList(u2, rosterById, 'U2', 'the roster', where);
  requireThreshold('sharing', senders.length, state.roster.length, config.threshold, 'sent shares');
  if (!rosterById.has(me) || !senders.includes(me)) {
    throw new Error(`${where}: this participant ('${me}') is not in U2, so its shares were not delivered`);
  }
  const expected = new Set(senders.filter((v) => v !== me));
  const seen = new Set<string>();
  for (const msg of received) {
    if (msg?.to !== me) throw new Error(`${where}: a share from '${msg?.from}' is addressed to '${msg?.to}', not to '${me}'`);
    if (!expected.has(msg.from)) throw new Error(`${where}: a share claims to come from '${msg.from}', who is not another member of U2`);
    if (seen.has(msg.from)) throw new Error(`${where}: two shares claim to come from '${msg.from}'`);
    seen.add(msg.from);
  }
  const missing = [...expected].filter((v) => !seen.has(v));
  if (missing.length > 0) throw new Error(`${where}: no share received from ${missing.map((v) => `'${v}'`).join(', ')}`);

  state.stage = 'masking';
  try {
    const held = new Map<string, SharePair>([[me, state.ownShares]]);
    const pairs = await Promise.all(
      received.map(async (msg) => {
        const key = shareEncryptionKey(keys.cSk, rosterById.get(msg.from)!.cPk, config.context, msg.from, me);
        const pair = await decryptSharePair(key, config.context, msg.from, me, msg.ciphertext);
        if (pair.s.x !== state.index || pair.b.x !== state.index) {
          throw new Error(`${where}: the share from '${msg.from}' is for x = ${pair.s.x}, this participant's x is ${state.index}`);
        }
        return [msg.from, pair] as const;
      }),
    );
    for (const [from, pair] of pairs) held.set(from, pair);

    const y = new Uint32Array(input);
    await addPrgInto(y, state.selfMaskKey, 1);
    for (const v of senders) {
      if (v === me) continue;
      const key = pairwiseMaskKey(keys.sSk, rosterById.get(v)!.sPk, config.context, me, v);
      await addPrgInto(y, key, compareIds(me, v) < 0 ? 1 : -1);
    }
    state.u2 = senders;
    state.held = held;
    state.stage = 'masked';
    return y;
  } catch (error) {
    state.stage = 'shared'; // nothing was released: a retry with correct shares is safe
    throw error;
  }
}

/**
 * Stage 4: for each participant the server reports dropped (in U2, no masked input) reveal the share
 * of its s_sk; for each survivor (masked input received, this participant included) the share of its
 * b. Never both for one peer: that would give the server v's masked input and both its masks. So the
 * lists must partition U2 exactly, and this may be called once per round.
 */
export function revealShares(
  state: ParticipantState,
  dropped: readonly string[],
  survivors: readonly string[],
): RevealMessage {
  const where = 'revealShares';
  if (state.stage === 'revealed') throw new Error(`${where}: already called for this round; a participant reveals once`);
  if (state.stage !== 'masked' || state.u2 === null) throw new Error(`${where}: call maskInput first`);
  const me = state.keys.id;
  const u2 = new Set(state.u2);
  const d = validateIdList(dropped, u2, 'the dropped list', 'U2', where);
  const s = validateIdList(survivors, u2, 'the survivor list', 'U2', where);
  const overlap = d.filter((v) => s.includes(v));
  if (overlap.length > 0) {
    throw new Error(`${where}: ${overlap.map((v) => `'${v}'`).join(', ')} listed both as dropped and as survivor`);
  }
  if (d.length + s.length !== u2.size) {
    const unaccounted = state.u2.filter((v) => !d.includes(v) && !s.includes(v));
    throw new Error(`${where}: the lists do not cover U2: ${unaccounted.map((v) => `'${v}'`).join(', ')} missing`);
  }
  requireThreshold('masking', s.length, u2.size, state.config.threshold, 'sent masked inputs');
  if (!s.includes(me)) throw new Error(`${where}: this participant ('${me}') is not in the survivor list`);
  state.stage = 'revealed';
  const share = (v: string, which: 's' | 'b') => {
    const pair = state.held.get(v);
    if (!pair) throw new Error(`${where}: no share held for '${v}'`); // unreachable: maskInput checked
    return { of: v, share: { x: pair[which].x, y: pair[which].y.slice() } };
  };
  return { from: me, sShares: d.map((v) => share(v, 's')), bShares: s.map((v) => share(v, 'b')) };
}
