import { decodeShare, fromRing, unmaskSum, type RevealMessage } from '@fedward/secagg';
import {
  toUint8Array,
  type SecAggKeys,
  type SecAggReveal,
  type SecAggRoundSettings,
  type SecAggShares,
  type SecAggStage,
  type SecAggView,
  type ServerToHospital,
  type ProtocolError,
} from '@fedward/protocol';

type Result = { ok: true } | { ok: false; error: ProtocolError };

export interface SecAggRoundHooks {
  /** Sends a stage's request to one hospital (on its current connection, if any). */
  send<E extends 'secagg-roster' | 'secagg-shares-in' | 'secagg-unmask'>(hospital: string, event: E, ...args: Parameters<ServerToHospital[E]>): void;
  /** The masks are off: the integer sum of the survivors' contributions and the updates it holds. */
  done(result: { sum: Float64Array; updates: number; summed: string[] }): void;
  /** Too few participants remain at a stage: the round cannot complete. */
  failed(reason: string): void;
  /** Something the admin sees changed. */
  changed(): void;
  info(message: string): void;
}

const STAGE_WORDS: Record<SecAggStage, string> = {
  advertise: 'advertised their keys',
  share: 'sent their encrypted shares',
  mask: 'uploaded their masked inputs',
  reveal: 'revealed their shares',
};

/**
 * One round of secure aggregation on the server (issue 15; Bonawitz et al. 2017, complete graph):
 * it relays public keys and encrypted shares, collects masked inputs, asks the survivors for the
 * shares that remove the masks, and unmasks the SUM only. Each stage waits for every participant
 * it expects, or until it is closed (the round deadline for the first stage, `stageTimeoutMs` for
 * the others, or the admin's "end round now"); a participant that disconnects is dropped at once.
 * Whenever a stage closes with fewer than t participants the round fails, naming the stage and
 * the counts. Every message is taken at most once per hospital: one that reconnects mid-round
 * picks up where it was, and cannot submit twice.
 */
export class SecAggRound {
  stage: SecAggStage | 'unmasking' | 'done' | 'failed' = 'advertise';
  private readonly adverts = new Map<string, { cPk: Uint8Array; sPk: Uint8Array }>();
  private readonly shares = new Map<string, SecAggShares['shares']>();
  private readonly masked = new Map<string, { vector: Uint32Array; updates: number }>();
  private readonly reveals = new Map<string, SecAggReveal>();
  /** U1 (advertised), U2 (shared), U3 (uploaded), sorted. */
  private u1: string[] = [];
  private u2: string[] = [];
  private u3: string[] = [];
  /** Who is still expected at the current stage. */
  private expected: Set<string>;
  private readonly dropped: { hospital: string; stage: SecAggStage }[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failure: string | null = null;

  constructor(
    readonly round: number,
    readonly settings: SecAggRoundSettings,
    private readonly participants: readonly string[],
    private readonly hooks: SecAggRoundHooks,
  ) {
    this.expected = new Set(participants);
  }

  view(): SecAggView {
    const stage = this.stage === 'unmasking' ? 'reveal' : this.stage;
    return {
      threshold: this.settings.threshold,
      stage,
      participants: this.participants.length,
      dropped: [...this.dropped],
      summed: this.stage === 'reveal' || this.stage === 'unmasking' || this.stage === 'done' ? this.u3.length : null,
      failure: this.failure,
    };
  }

  /** Whether this hospital may upload its masked input now (null), or why not. */
  uploadRefusal(hospital: string): string | null {
    if (this.stage !== 'mask') return `secure aggregation is at stage "${this.stage}", not taking masked inputs`;
    if (!this.u2.includes(hospital)) return `${hospital} did not send its shares in time for round ${this.round}`;
    if (this.masked.has(hospital)) return `${hospital} already uploaded its masked input for round ${this.round}`;
    return null;
  }

  /** Stage 1: a participant's two public keys. */
  keys(hospital: string, msg: SecAggKeys): Result {
    const refused = this.refuse('advertise', hospital, this.adverts.has(hospital), 'keys');
    if (refused) return refused;
    const cPk = toUint8Array(msg.cPk).slice();
    const sPk = toUint8Array(msg.sPk).slice();
    this.adverts.set(hospital, { cPk, sPk });
    this.answered(hospital);
    return { ok: true };
  }

  /** Stage 2: a participant's encrypted shares, one per roster member. */
  sharesFrom(hospital: string, msg: SecAggShares): Result {
    const refused = this.refuse('share', hospital, this.shares.has(hospital), 'shares');
    if (refused) return refused;
    const to = msg.shares.map((s) => s.to);
    const others = this.u1.filter((h) => h !== hospital);
    const unique = new Set(to);
    if (unique.size !== to.length || !others.every((h) => unique.has(h)) || !to.every((h) => this.u1.includes(h))) {
      return this.bad(`the shares must go to every other participant of the roster once (${others.length}), and only to them`);
    }
    this.shares.set(
      hospital,
      msg.shares.map((s) => ({ to: s.to, ciphertext: toUint8Array(s.ciphertext).slice() })),
    );
    this.answered(hospital);
    return { ok: true };
  }

  /** Stage 3: a participant's masked input (checked by the coordinator's upload path first). */
  maskedFrom(hospital: string, vector: Uint32Array, updates: number): Result {
    const refusal = this.uploadRefusal(hospital);
    if (refusal) return { ok: false, error: { code: 'not-participant', message: refusal, round: this.round } };
    if (vector.length !== this.settings.length) return this.bad(`a masked input has ${this.settings.length} ring elements; this one has ${vector.length}`);
    this.masked.set(hospital, { vector, updates });
    this.answered(hospital);
    return { ok: true };
  }

  /** Stage 4: a survivor's shares: s-shares of exactly who dropped, b-shares of exactly who uploaded. */
  reveal(hospital: string, msg: SecAggReveal): Result {
    const refused = this.refuse('reveal', hospital, this.reveals.has(hospital), 'shares to reveal');
    if (refused) return refused;
    const droppedIds = this.u2.filter((h) => !this.u3.includes(h));
    const same = (a: string[], b: string[]) => {
      const sortedB = [...b].sort();
      return a.length === b.length && [...a].sort().every((x, i) => x === sortedB[i]);
    };
    if (!same(msg.sShares.map((s) => s.of), droppedIds) || !same(msg.bShares.map((s) => s.of), this.u3)) {
      return this.bad(`reveal mask-key shares of exactly the ${droppedIds.length} who dropped and self-mask shares of exactly the ${this.u3.length} who uploaded`);
    }
    for (const s of [...msg.sShares, ...msg.bShares]) {
      try {
        decodeShare(toUint8Array(s.share));
      } catch (e) {
        return this.bad(`the share of ${s.of} is malformed: ${(e as Error).message}`);
      }
    }
    this.reveals.set(hospital, {
      round: msg.round,
      sShares: msg.sShares.map((s) => ({ of: s.of, share: toUint8Array(s.share).slice() })),
      bShares: msg.bShares.map((s) => ({ of: s.of, share: toUint8Array(s.share).slice() })),
    });
    this.answered(hospital);
    return { ok: true };
  }

  /** A participant's connection closed: it is dropped from the stage it was expected at. */
  left(hospital: string): void {
    if (!this.expected.has(hospital) || this.stage === 'done' || this.stage === 'failed' || this.stage === 'unmasking') return;
    this.expected.delete(hospital);
    this.dropped.push({ hospital, stage: this.stage });
    this.hooks.info(`secure aggregation, round ${this.round}: ${hospital} left at stage "${this.stage}"`);
    this.hooks.changed();
    if (this.expected.size === 0) this.closeStage('every remaining participant answered');
  }

  /** Closes the current stage now (its timeout, the round deadline, or the admin): who has not answered is dropped. */
  closeStage(why: string): void {
    if (this.stage === 'done' || this.stage === 'failed' || this.stage === 'unmasking') return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const stage = this.stage;
    for (const hospital of this.expected) this.dropped.push({ hospital, stage });
    this.expected.clear();
    const answered = this.answeredAt(stage);
    const asked = stage === 'advertise' ? this.participants.length : stage === 'share' ? this.u1.length : stage === 'mask' ? this.u2.length : this.u3.length;
    if (answered.length < this.settings.threshold) {
      return this.fail(`secure aggregation failed at stage "${stage}": ${answered.length} of ${asked} participants ${STAGE_WORDS[stage]} (${why}); the threshold is ${this.settings.threshold}`);
    }
    this.hooks.info(`secure aggregation, round ${this.round}: ${answered.length} of ${asked} participants ${STAGE_WORDS[stage]}`);
    if (stage === 'advertise') this.startShare(answered);
    else if (stage === 'share') this.startMask(answered);
    else if (stage === 'mask') this.startReveal(answered);
    else void this.unmask();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stage !== 'done') this.stage = 'failed';
  }

  private answeredAt(stage: SecAggStage): string[] {
    const map = stage === 'advertise' ? this.adverts : stage === 'share' ? this.shares : stage === 'mask' ? this.masked : this.reveals;
    return [...map.keys()].sort();
  }

  private startShare(u1: string[]): void {
    this.u1 = u1;
    this.next('share', u1);
    const roster = u1.map((id) => ({ id, ...this.adverts.get(id)! }));
    for (const h of u1) this.hooks.send(h, 'secagg-roster', { round: this.round, roster });
  }

  private startMask(u2: string[]): void {
    this.u2 = u2;
    this.next('mask', u2);
    for (const h of u2) {
      const shares = u2.flatMap((from) => this.shares.get(from)!.filter((s) => s.to === h).map((s) => ({ from, to: s.to, ciphertext: s.ciphertext })));
      this.hooks.send(h, 'secagg-shares-in', { round: this.round, u2, shares });
    }
  }

  private startReveal(u3: string[]): void {
    this.u3 = u3;
    const dropped = this.u2.filter((h) => !u3.includes(h));
    this.next('reveal', u3);
    for (const h of u3) this.hooks.send(h, 'secagg-unmask', { round: this.round, dropped, survivors: u3 });
  }

  private next(stage: SecAggStage, expected: string[]): void {
    this.stage = stage;
    this.expected = new Set(expected);
    this.timer = setTimeout(() => this.closeStage(`its ${Math.round(this.settings.stageTimeoutMs / 1000)} s timeout`), this.settings.stageTimeoutMs);
    this.hooks.changed();
  }

  private async unmask(): Promise<void> {
    this.stage = 'unmasking';
    this.hooks.changed();
    try {
      const roster = this.u1.map((id) => ({ id, ...this.adverts.get(id)! }));
      const decode = (list: SecAggReveal['sShares']) => list.map((s) => ({ of: s.of, share: decodeShare(toUint8Array(s.share)) }));
      const reveals: RevealMessage[] = [...this.reveals].map(([from, r]) => ({ from, sShares: decode(r.sShares), bShares: decode(r.bShares) }));
      const inputs = new Map([...this.masked].map(([h, m]) => [h, m.vector]));
      const { sum } = await unmaskSum({ context: this.settings.context, threshold: this.settings.threshold, length: this.settings.length }, roster, this.u2, inputs, reveals);
      if (this.stage !== 'unmasking') return;
      this.stage = 'done';
      const updates = this.u3.reduce((n, h) => n + this.masked.get(h)!.updates, 0);
      // The masked inputs and shares are of no further use: drop them.
      this.masked.clear();
      this.shares.clear();
      this.hooks.done({ sum: fromRing(sum), updates, summed: [...this.u3] });
    } catch (e) {
      if (this.stage === 'unmasking') this.fail(`secure aggregation failed at unmasking: ${(e as Error).message}`);
    }
  }

  private fail(reason: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stage = 'failed';
    this.failure = reason;
    this.hooks.changed();
    this.hooks.failed(reason);
  }

  private answered(hospital: string): void {
    this.expected.delete(hospital);
    if (this.expected.size > 0) return;
    // After the current message's acknowledgement has gone out: the last participant hears that
    // its answer arrived before it hears the next stage's request.
    const stage = this.stage;
    queueMicrotask(() => {
      if (this.stage === stage && this.expected.size === 0) this.closeStage('every participant answered');
    });
  }

  private refuse(stage: SecAggStage, hospital: string, already: boolean, what: string): Result | null {
    if (this.stage !== stage) {
      return { ok: false, error: { code: 'wrong-round', message: `secure aggregation of round ${this.round} is at stage "${this.stage}", not taking ${what}`, round: this.round } };
    }
    if (already) return { ok: false, error: { code: 'not-participant', message: `${hospital} already sent its ${what} for round ${this.round}`, round: this.round } };
    if (!this.expected.has(hospital)) return { ok: false, error: { code: 'not-participant', message: `${hospital} is not expected at stage "${stage}" of round ${this.round}`, round: this.round } };
    return null;
  }

  private bad(message: string): Result {
    return { ok: false, error: { code: 'bad-message', message, round: this.round } };
  }
}
