import { GridContribution, gridFor, updateDelta } from '@fedward/privacy';
import { advertiseKeys, encodeShare, maskInput, revealShares, shareKeys, toRing } from '@fedward/secagg';
import {
  toUint8Array,
  type NamedTensor,
  type SecAggRoster,
  type SecAggRoundSettings,
  type SecAggSharesIn,
  type SecAggStage,
  type SecAggUnmask,
} from '@fedward/protocol';
import type { ClientEvent } from './events';
import { request, uploadUpdate, type HospitalSocket } from './socket';

/**
 * Test hooks. `drop`: this hospital does NOT do stage `at` of round `round` (nor anything after it
 * in that attempt), once: 'silent' ignores the request, 'disconnect' leaves the federation; if the
 * round is then run again, it takes part. Dropouts at each protocol step are how the acceptance
 * tests exercise the threshold. `inspect`: sees this hospital's own plain input (before masking),
 * so a test can check the server never receives anything like it.
 */
export interface SecAggTestHooks {
  drop?: { round: number; at: SecAggStage; how: 'silent' | 'disconnect' };
  inspect?: (round: number, input: Uint32Array) => void;
}

/** What a stage handler returns to the participant loop: go on, or leave the federation (a dropout test). */
export type StageOutcome = 'continue' | 'leave';

/**
 * One hospital's side of one round's secure aggregation (issue 15). Training feeds `add` with
 * each sub-client's update; `advertise` then encodes the hospital's own sum on the round's grid
 * (the same GridContribution the server uses without secure aggregation: clip, grid, count, norm
 * sum) and sends its public keys; the server's three requests drive the other stages. The update
 * itself never leaves: only public keys, encrypted shares, the masked sum and the shares that
 * remove masks.
 */
export class SecAggClientRound {
  private readonly contribution: GridContribution;
  private secret: ReturnType<typeof advertiseKeys>['secret'] | null = null;
  private state: Awaited<ReturnType<typeof shareKeys>>['state'] | null = null;
  private input: Uint32Array | null = null;
  private samples = 0;
  private lossSum = 0;
  private steps = 0;

  constructor(
    readonly round: number,
    readonly settings: SecAggRoundSettings,
    private readonly hospital: string,
    private readonly global: readonly NamedTensor[],
    private readonly backend: string,
    private readonly chunkBytes: number,
    /** FedNova divides each change by its own step count before the clip (as the server does without secure aggregation). */
    private readonly divideBySteps: boolean,
    /** The adaptive rule's probe round: only the norm sum counts (the flat vector keeps its length). */
    probe: boolean,
    private readonly hooks: SecAggTestHooks,
  ) {
    const dimension = global.reduce((n, t) => n + t.values.length, 0);
    this.contribution = new GridContribution(
      { sizes: global.map((t) => t.values.length), probe, countUnclipped: settings.countUnclipped, normSum: settings.normSum },
      gridFor(settings.clip, dimension),
    );
  }

  /** One sub-client's trained weights (the unchanged global model for an empty one). */
  add(weights: readonly NamedTensor[], trained: { samples: number; loss: number; steps: number }): void {
    const { delta, norm } = updateDelta(weights, this.global, this.divideBySteps ? Math.max(1, trained.steps) : 1);
    if (!Number.isFinite(norm)) throw new Error('the trained update is not finite');
    this.contribution.addDelta(delta, norm);
    this.samples += trained.samples;
    this.lossSum += trained.loss * trained.samples;
    this.steps += trained.steps;
  }

  private dropsAt(stage: SecAggStage): StageOutcome | null {
    const drop = this.hooks.drop;
    if (!drop || drop.round !== this.round || drop.at !== stage) return null;
    delete this.hooks.drop;
    return drop.how === 'disconnect' ? 'leave' : 'continue';
  }

  /** Stage 1: encode the own sum, then advertise two fresh public keys. */
  async *advertise(socket: HospitalSocket): AsyncGenerator<ClientEvent, StageOutcome> {
    const flat = this.contribution.toFlat();
    if (flat.length !== this.settings.length) throw new Error(`secure aggregation: the round expects ${this.settings.length} values, this model gives ${flat.length}`);
    this.input = toRing(flat);
    this.contribution.clear();
    this.hooks.inspect?.(this.round, this.input.slice());
    const dropped = this.dropsAt('advertise');
    if (dropped) return dropped;
    const { secret, advert } = advertiseKeys(this.hospital);
    this.secret = secret;
    const r = await request<object>(socket, 'secagg-keys', { round: this.round, cPk: advert.cPk, sPk: advert.sPk });
    if (!r.ok) {
      yield { type: 'rejected', error: r.error };
      return 'continue';
    }
    yield { type: 'secagg', round: this.round, stage: 'advertise', detail: 'public keys sent; waiting for the other hospitals' };
    return 'continue';
  }

  /** Stage 2: share the two secrets among the roster, each share encrypted for its holder. */
  async *share(socket: HospitalSocket, msg: SecAggRoster): AsyncGenerator<ClientEvent, StageOutcome> {
    if (!this.secret || msg.round !== this.round) return 'continue';
    const dropped = this.dropsAt('share');
    if (dropped) return dropped;
    const roster = msg.roster.map((m) => ({ id: m.id, cPk: toUint8Array(m.cPk), sPk: toUint8Array(m.sPk) }));
    const { state, shares } = await shareKeys(this.secret, { context: this.settings.context, threshold: this.settings.threshold, length: this.settings.length }, roster);
    this.state = state;
    const r = await request<object>(socket, 'secagg-shares', { round: this.round, shares: shares.map((s) => ({ to: s.to, ciphertext: s.ciphertext })) });
    if (!r.ok) {
      yield { type: 'rejected', error: r.error };
      return 'continue';
    }
    yield { type: 'secagg', round: this.round, stage: 'share', detail: `encrypted key shares sent to ${roster.length - 1} hospitals (threshold ${this.settings.threshold})` };
    return 'continue';
  }

  /** Stage 3: upload y = x + self mask + Σ pairwise masks (mod 2^32): alone it looks uniformly random. */
  async *mask(socket: HospitalSocket, msg: SecAggSharesIn): AsyncGenerator<ClientEvent, StageOutcome> {
    if (!this.state || !this.input || msg.round !== this.round) return 'continue';
    const dropped = this.dropsAt('mask');
    if (dropped) return dropped;
    const received = msg.shares.map((s) => ({ from: s.from, to: s.to, ciphertext: toUint8Array(s.ciphertext) }));
    const masked = await maskInput(this.state, this.input, msg.u2, received);
    this.input = null;
    const updates = this.contribution.updates;
    const refused = yield* uploadUpdate(
      socket,
      {
        round: this.round,
        trainSamples: this.samples,
        trainLoss: this.samples > 0 ? this.lossSum / this.samples : 0,
        backend: this.backend,
        subClient: 0,
        subClients: 1,
        steps: Math.max(1, this.steps),
        masked: { updates },
      },
      new Uint8Array(masked.buffer, masked.byteOffset, masked.byteLength),
      this.chunkBytes,
    );
    if (refused) {
      yield refused;
      return 'continue';
    }
    yield { type: 'secagg', round: this.round, stage: 'mask', detail: `masked sum of ${updates} updates uploaded (${masked.byteLength} bytes); the server cannot read it alone` };
    return 'continue';
  }

  /** Stage 4: reveal what removes the masks of who dropped and the self masks of who uploaded; never both for one hospital. */
  async *reveal(socket: HospitalSocket, msg: SecAggUnmask): AsyncGenerator<ClientEvent, StageOutcome> {
    if (!this.state || msg.round !== this.round) return 'continue';
    const dropped = this.dropsAt('reveal');
    if (dropped) return dropped;
    const shown = revealShares(this.state, msg.dropped, msg.survivors);
    const wire = (list: typeof shown.sShares) => list.map((s) => ({ of: s.of, share: encodeShare(s.share) }));
    const r = await request<object>(socket, 'secagg-reveal', { round: this.round, sShares: wire(shown.sShares), bShares: wire(shown.bShares) });
    if (!r.ok) {
      yield { type: 'rejected', error: r.error };
      return 'continue';
    }
    yield {
      type: 'secagg',
      round: this.round,
      stage: 'reveal',
      detail: `shares revealed: ${msg.survivors.length} hospitals' masked sums are summed${msg.dropped.length ? `, ${msg.dropped.length} dropped (${msg.dropped.join(', ')})` : ''}`,
    };
    return 'continue';
  }
}
