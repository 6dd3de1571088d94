import {
  encodeWeights,
  planDigest,
  specOf,
  studyPlan,
  type BackendName,
  type Evaluation,
  type Hello,
  type FederationConfig,
  type FederationSnapshot,
  type HospitalPrivacyView,
  type HospitalState,
  type HospitalStatus,
  type HospitalView,
  type LogEntry,
  type NamedTensor,
  type PersonalizationConfig,
  type Phase,
  type ProtocolError,
  type RoundView,
  type SecAggKeys,
  type SecAggReveal,
  type SecAggShares,
  type SecAggView,
  type ServerToHospital,
  type StudyPlan,
  type StudyStatus,
  type TensorSpec,
  type UpdateBegin,
  type Welcome,
} from '@fedward/protocol';
import { contributionLength, maxUpdatesOnRing } from '@fedward/privacy';
import { decodeServerState, encodeServerState, type DpAggregator } from './dp';
import type { UpdateInfo } from './dp/types';
import { SecAggRound } from './secagg-round';
import { RoundEngine, type RoundAggregator, type RoundPlan } from './round-engine';
import { BufferPool, UploadBuffer, acceptUpdate } from './update-intake';
import type { HospitalUpdate } from './personalization/aggregate';
import { PersonalizationWorker } from './personalization/pfa-pool';
import type { Contribution, Store } from './store';

/** The slice of a hospital's socket the coordinator needs (so tests can drive it without one). */
export interface HospitalLink {
  readonly id: string;
  emit<E extends keyof ServerToHospital>(event: E, ...args: Parameters<ServerToHospital[E]>): void;
  disconnect(): void;
}

interface Connected {
  link: HospitalLink;
  hospital: string;
  backend: BackendName | null;
  trainSamples: number;
  testSamples: number;
  status: HospitalStatus | null;
  ready: boolean;
  patientIds?: 'all' | 'some' | 'none';
}

interface Upload {
  begin: UpdateBegin;
  buffer: UploadBuffer;
}

/** One hospital's uploads in the current round: one per sub-client it announced. */
interface SubClientUploads {
  expected: number;
  received: Set<number>;
  samples: number;
  lossSum: number;
  backend: BackendName;
  /** DP-SGD: the hospital's own ε per record, from its latest update. */
  dpSgdEpsilon?: number;
}

type Result<T = object> = ({ ok: true } & T) | { ok: false; error: ProtocolError };

/**
 * Records one event in the append-only audit log (who, what, detail). `soon`: a high-volume event
 * (a hospital joining or leaving) that may be written up to a few ms later, batched with others,
 * so a reconnect storm costs one disk sync instead of hundreds.
 */
export type AuditSink = (actor: string, action: string, detail?: string, options?: { soon?: boolean }) => void;

/** A hospital that missed a round's deadline: left out of rounds until `until`, longer each time. */
interface BackOff {
  missed: number;
  until: number;
  reason: string;
}

/** First back-off after a missed deadline; it doubles with every further miss, up to the cap. */
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_CAP_MS = 10 * 60_000;

const LOG_LIMIT = 200;

/** What the aggregator is told of an update besides its weights, from the upload's begin message. */
function updateInfoOf(begin: UpdateBegin): UpdateInfo {
  return { samples: begin.trainSamples, ...(begin.steps !== undefined && { steps: begin.steps }) };
}

/** "\n" → "\\n" and other control characters → \uXXXX, so one log entry is one line. */
function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * The round state machine: waiting → training → aggregating → (next round | done).
 * A round starts once `minClients` hospitals have said hello; everyone ready at that moment
 * takes part. It aggregates when every participant has uploaded, or at the deadline if at least
 * `minClients` did; otherwise the round is run again. Finished rounds live in the Store, so a
 * restarted server picks up at the round after the last one it saved.
 */
export class Coordinator {
  phase: Phase = 'waiting';
  round: number;
  deadline: number | null = null;
  private global: NamedTensor[];
  private globalPayload: Uint8Array;
  private readonly spec: TensorSpec[];
  private readonly expectedBytes: number;
  private readonly connected = new Map<string, Connected>();
  private participants = new Set<string>();
  private uploads = new Map<string, Upload>();
  /** Upload buffers of finished uploads, for the next ones (a model's bytes each). */
  private readonly uploadBuffers = new BufferPool();
  private progress = new Map<string, SubClientUploads>();
  private aggregator: RoundAggregator | null = null;
  /** Clipping, noise, VN, the ledgers and the release policy: the same engine the simulator runs. */
  private readonly engine: RoundEngine;
  /** The current round's plan (VN, probe) while it trains. */
  private roundPlan: RoundPlan | null = null;
  /** FedBN / PRR-FL: one result per hospital, computed from the round's buffered updates. */
  private readonly personalization: PersonalizationConfig | null;
  private buffered: HospitalUpdate[] = [];
  /** Each hospital's latest own result, encoded once (read from SQLite at most once after a restart). */
  private readonly hospitalPayloads = new Map<string, Uint8Array>();
  private readonly worker = new PersonalizationWorker();
  private stopReason: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Per hospital with an upload in progress: fires when no data came for uploadStallMs. */
  private readonly stallTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly log: LogEntry[] = [];
  /** Hospitals that missed a deadline, and when they may take part again. */
  private readonly backOffs = new Map<string, BackOff>();
  /** Hospitals the admin left out of rounds until re-admitted. */
  private readonly skipped = new Set<string>();
  /** Last message or heartbeat per hospital (ms since epoch). */
  private readonly lastSeen = new Map<string, number>();
  /** Fires when the earliest back-off ends, so a round waiting for that hospital can start. */
  private backOffTimer: ReturnType<typeof setTimeout> | null = null;
  private startPending = false;
  /** Secure aggregation of the current round (null without it, or between rounds). */
  private secagg: SecAggRound | null = null;
  /** The last round's secure aggregation, as the admin and hospitals see it. */
  private lastSecagg: SecAggView | null = null;
  /** Counts secure aggregation attempts, so every attempt derives its own keys. */
  private secaggAttempts = 0;
  /** What hospitals review before joining, and its digest (their hello must carry it, when they send one). */
  readonly plan: StudyPlan;
  readonly planDigest: string;

  constructor(
    readonly config: FederationConfig,
    private readonly store: Store,
    private readonly onChange: () => void,
    private readonly audit: AuditSink = () => {},
    /** The study's status: only a running study starts rounds. */
    private studyStatus: StudyStatus = 'running',
  ) {
    const latest = store.latestRound(config.id);
    this.global = latest.weights;
    this.globalPayload = encodeWeights(latest.weights);
    this.spec = specOf(latest.weights);
    this.expectedBytes = this.globalPayload.length;
    this.plan = studyPlan(config, this.expectedBytes);
    this.planDigest = planDigest(this.plan);
    this.round = latest.round + 1;
    const dimension = latest.weights.reduce((n, t) => n + t.values.length, 0);
    // After a restart: the server state, both ledgers and the VN the last round chose for the next.
    this.engine = new RoundEngine(config, dimension, {
      serverState: latest.serverState ? decodeServerState(latest.serverState) : null,
      ledgers: latest.ledger,
      lastDp: latest.dp,
      dpRounds: config.privacy ? latest.round : 0,
    });
    this.personalization = config.personalization && config.personalization.strategy !== 'fedavg' ? config.personalization : null;
    if (latest.round >= config.rounds || studyStatus === 'stopped') this.phase = 'done';
    if (studyStatus === 'stopped' && latest.round < config.rounds) this.stopReason = 'the study was stopped by the admin';
    this.info(
      latest.round > 0
        ? `resumed after round ${latest.round} from the database`
        : `federation "${config.name}" ready: ${config.rounds} rounds, at least ${config.minClients} hospitals`,
    );
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.backOffTimer) clearTimeout(this.backOffTimer);
    this.backOffTimer = null;
    for (const t of this.stallTimers.values()) clearTimeout(t);
    this.stallTimers.clear();
    this.endSecagg();
    void this.worker.close();
  }

  /** What a hospital trains from: under FedBN / PRR-FL its own latest result, otherwise the global model. */
  private payloadFor(hospital: string): Uint8Array {
    if (!this.personalization) return this.globalPayload;
    let own = this.hospitalPayloads.get(hospital);
    if (!own) {
      const stored = this.store.latestHospitalWeights(this.config.id, hospital);
      if (!stored) return this.globalPayload;
      own = encodeWeights(stored.weights);
      this.hospitalPayloads.set(hospital, own);
    }
    return own;
  }

  get lifecycle(): StudyStatus {
    return this.studyStatus;
  }

  /** Whether settings that change the privacy guarantee are frozen: a round has been released. */
  get frozen(): boolean {
    return this.round > 1;
  }

  /**
   * Start, pause, resume or stop the study. Pausing lets the round under way finish and starts no
   * new one; stopping ends the study for good (a round under way is cancelled: nothing of it is
   * released or spent).
   */
  setStatus(next: StudyStatus): void {
    this.studyStatus = next;
    if (next === 'stopped' && this.phase !== 'done') {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      for (const h of this.participants) this.clearStall(h);
      this.participants.clear();
      this.uploads.clear();
      this.endSecagg();
      this.aggregator = null;
      this.roundPlan = null;
      this.phase = 'done';
      this.deadline = null;
      this.stopReason = 'the study was stopped by the admin';
      this.info(`study stopped after round ${this.round - 1}`);
      for (const c of this.connected.values()) c.link.emit('federation-done', { round: this.round - 1, reason: this.stopReason });
    } else if (next === 'paused') this.info(this.phase === 'training' ? `study paused: round ${this.round} finishes, no new round starts` : 'study paused');
    else if (next === 'running') {
      this.info('study running');
      this.startSoon();
    }
    this.changed();
  }

  /** The budget as a hospital sees it (public settings and ε spent; null without DP). */
  hospitalPrivacy(): HospitalPrivacyView | null {
    const view = this.engine.privacyView(Math.max(1, this.config.minClients));
    return view && { unit: view.unit, targetEpsilon: view.targetEpsilon, delta: view.delta, private: view.private, spent: view.spent, relations: view.relations };
  }

  /** Every connected hospital is told the study changed under it and let go (it reviews the new plan). */
  dismissAll(error: ProtocolError): void {
    for (const c of [...this.connected.values()]) {
      c.link.emit('protocol-error', error);
      this.detach(c.link);
      c.link.disconnect();
    }
  }

  // ---- connections ---------------------------------------------------------------------

  attach(link: HospitalLink, hospital: string): void {
    for (const other of this.connected.values()) {
      if (other.hospital === hospital) {
        this.warn(`${hospital} connected again; closing its older connection`);
        other.link.emit('protocol-error', { code: 'unauthorized', message: 'replaced by a newer connection of the same hospital' });
        this.detach(other.link);
        other.link.disconnect();
      }
    }
    this.connected.set(link.id, { link, hospital, backend: null, trainSamples: 0, testSamples: 0, status: null, ready: false });
    this.lastSeen.set(hospital, Date.now());
    this.changed();
  }

  /** Any message or heartbeat from this connection: the admin sees when each hospital was last heard from. */
  touch(link: HospitalLink): void {
    const c = this.connected.get(link.id);
    if (c) this.lastSeen.set(c.hospital, Date.now());
  }

  detach(link: HospitalLink): void {
    const c = this.connected.get(link.id);
    if (!c) return;
    this.connected.delete(link.id);
    if (this.phase === 'training' && this.participants.has(c.hospital) && !this.hasContributed(c.hospital)) {
      this.participants.delete(c.hospital);
      this.uploads.delete(c.hospital);
      this.clearStall(c.hospital);
      this.warn(`${c.hospital} left during round ${this.round}; the round goes on without it`);
      this.maybeAggregate();
    }
    // Under secure aggregation a hospital that left is dropped from the stage it was at, uploaded or not.
    if (this.phase === 'training' && this.secagg) this.secagg.left(c.hospital);
    if (c.ready) this.audit(c.hospital, 'hospital-left', `disconnected during ${this.phase} round ${this.round}`, { soon: true });
    this.changed();
  }

  hello(link: HospitalLink, msg: Hello): Result<Welcome> {
    const c = this.connected.get(link.id);
    if (!c) throw new Error('hello from an unknown connection');
    if (msg.planDigest !== undefined && msg.planDigest !== this.planDigest) {
      // The settings changed since this hospital reviewed them: it must see and accept the new plan.
      return this.reject(link, 'hello', { code: 'plan-changed', message: "this study's plan changed since you accepted it: review the new plan and accept it to join" });
    }
    Object.assign(c, { backend: msg.backend, trainSamples: msg.trainSamples, testSamples: msg.testSamples, ready: true, ...(msg.patientIds && { patientIds: msg.patientIds }) });
    this.info(`${c.hospital} joined (${msg.trainSamples} training / ${msg.testSamples} held-out slices, ${msg.backend})`);
    this.audit(c.hospital, 'hospital-joined', `${msg.trainSamples} training / ${msg.testSamples} held-out slices, ${msg.backend}`, { soon: true });
    const welcome: Welcome = {
      hospital: c.hospital,
      privacy: this.hospitalPrivacy(),
      config: this.config,
      round: this.round - 1,
      weights: this.payloadFor(c.hospital),
    };
    // Start the round after the welcome is on its way, so the newcomer sees both in order.
    queueMicrotask(() => {
      if (this.phase === 'done') {
        link.emit('federation-done', { round: this.round - 1, ...(this.stopReason ? { reason: this.stopReason } : {}) });
      } else this.startSoon();
    });
    this.changed();
    return { ok: true, ...welcome };
  }

  status(link: HospitalLink, status: HospitalStatus): void {
    const c = this.connected.get(link.id);
    if (!c) return;
    c.status = status;
    this.changed();
  }

  // ---- rounds --------------------------------------------------------------------------

  /** Whether this hospital may be in the next round: not skipped by the admin, not backing off. */
  private eligible(hospital: string, now = Date.now()): boolean {
    if (this.skipped.has(hospital)) return false;
    const b = this.backOffs.get(hospital);
    return !b || b.until <= now;
  }

  /** One look at the ready hospitals per burst of hellos, not one per hello (200 hellos would be quadratic). */
  private startSoon(): void {
    if (this.startPending) return;
    this.startPending = true;
    setImmediate(() => {
      this.startPending = false;
      this.maybeStartRound();
    });
  }

  private maybeStartRound(): void {
    if (this.phase !== 'waiting' || this.studyStatus !== 'running') return;
    const now = Date.now();
    const ready = [...this.connected.values()].filter((c) => c.ready && c.trainSamples > 0 && this.eligible(c.hospital, now));
    if (ready.length < this.config.minClients) {
      this.wakeAfterBackOff(now);
      return;
    }
    const plan = this.engine.plan(this.round, ready.length);
    if (!plan.allowed) {
      // Refuse before anything is released: the round never starts, so nothing is spent.
      this.phase = 'done';
      this.stopReason = plan.reason;
      this.warn(`round ${this.round} refused: ${plan.reason}`);
      this.audit('server', 'round-refused', `round ${this.round}: ${plan.reason ?? ''}`);
      for (const c of this.connected.values()) c.link.emit('federation-done', { round: this.round - 1, reason: plan.reason ?? '' });
      this.changed();
      return;
    }
    this.phase = 'training';
    this.roundPlan = plan;
    this.participants = new Set(ready.map((c) => c.hospital));
    this.uploads.clear();
    this.progress.clear();
    this.buffered = [];
    this.aggregator = this.engine.open(plan, this.global);
    if (this.config.secureAggregation && !this.openSecagg(plan.virtualClients)) return;
    this.deadline = Date.now() + this.config.roundDeadlineMs;
    this.timer = setTimeout(() => this.onDeadline(), this.config.roundDeadlineMs);
    this.audit('server', 'round-started', `round ${this.round} with ${[...this.participants].join(', ')}`);
    this.info(
      `round ${this.round} started with ${[...this.participants].join(', ')}` +
        (this.config.privacy
          ? `; ${plan.virtualClients} update(s) per hospital${plan.probe ? ' (probe round: only a noised norm sum is released; the model does not move)' : ''}`
          : ''),
    );
    for (const c of ready) {
      c.link.emit('round-start', {
        round: this.round,
        deadline: this.deadline,
        weights: this.payloadFor(c.hospital),
        virtualClients: plan.virtualClients,
        probe: plan.probe,
        ...(this.secagg && { secagg: this.secagg.settings }),
      });
    }
    this.changed();
  }

  /**
   * Opens the round's secure aggregation (issue 15) on the DP aggregator's grid: hospitals encode
   * their own updates with the same C and shape. Refuses (and ends the study with the reason) when
   * the round's largest possible sum would not fit the 32-bit ring.
   */
  private openSecagg(virtualClients: number): boolean {
    const settings = this.config.secureAggregation!;
    const contribution = (this.aggregator as DpAggregator).contribution;
    const participants = [...this.participants].sort();
    const reason =
      contribution === null
        ? 'secure aggregation needs a clip rule that works on single updates (fixed or quantile)'
        : participants.length * virtualClients > maxUpdatesOnRing(contribution.grid)
          ? `secure aggregation: ${participants.length} hospitals × ${virtualClients} updates could overflow the 32-bit ring at C on a grid of ${contribution.grid.bound} (at most ${maxUpdatesOnRing(contribution.grid)} updates); lower the sub-clients per hospital`
          : null;
    if (reason !== null || contribution === null) {
      this.phase = 'done';
      this.stopReason = reason;
      this.aggregator = null;
      this.roundPlan = null;
      this.warn(`round ${this.round} refused: ${reason}`);
      this.audit('server', 'round-refused', `round ${this.round}: ${reason}`);
      for (const c of this.connected.values()) c.link.emit('federation-done', { round: this.round - 1, reason: reason ?? '' });
      this.changed();
      return false;
    }
    this.secaggAttempts += 1;
    const round = this.round;
    this.secagg = new SecAggRound(
      round,
      {
        threshold: settings.threshold,
        context: `fedward-secagg/${this.config.id}/round-${round}/attempt-${this.secaggAttempts}`,
        clip: contribution.grid.clip,
        countUnclipped: contribution.shape.countUnclipped,
        normSum: contribution.shape.normSum,
        length: contributionLength(contribution.shape),
        stageTimeoutMs: settings.stageTimeoutMs ?? 60_000,
      },
      participants,
      {
        send: (hospital, event, ...args) => {
          for (const c of this.connected.values()) if (c.hospital === hospital) c.link.emit(event, ...args);
        },
        done: (result) => this.secaggDone(round, result),
        failed: (reason) => this.secaggFailed(round, reason),
        changed: () => this.changed(),
        info: (message) => this.info(message),
      },
    );
    this.info(`round ${round}: secure aggregation among ${participants.length} hospitals, threshold ${settings.threshold}; the server will see only the sum`);
    return true;
  }

  /** The masks are off: the sum goes into the DP aggregator, which noises and releases it as always. */
  private secaggDone(round: number, result: { sum: Float64Array; updates: number; summed: string[] }): void {
    if (this.phase !== 'training' || this.round !== round || !this.aggregator) return;
    try {
      (this.aggregator as DpAggregator).addSum(result.sum, result.updates);
    } catch (e) {
      this.secaggFailed(round, `secure aggregation failed: the unmasked sum was refused (${(e as Error).message})`);
      return;
    }
    this.aggregate();
  }

  /** Too few participants at a stage (or the unmasking failed): nothing was released; the round runs again. */
  private secaggFailed(round: number, reason: string): void {
    if (this.phase !== 'training' || this.round !== round) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.warn(`round ${round} failed: ${reason}; running it again`);
    this.audit('server', 'round-cancelled', `round ${round}: ${reason}`);
    this.runAgain();
  }

  /** Keeps the round's secure aggregation view for the admin and stops its timers. */
  private endSecagg(): void {
    if (!this.secagg) return;
    this.secagg.dispose();
    this.lastSecagg = this.secagg.view();
    this.secagg = null;
  }

  /** Stage 1 of secure aggregation: a hospital's public keys. */
  secaggKeys(link: HospitalLink, msg: SecAggKeys): Result {
    return this.secaggMessage(link, 'secagg-keys', msg.round, (h) => this.secagg!.keys(h, msg));
  }

  /** Stage 2: a hospital's encrypted shares. */
  secaggShares(link: HospitalLink, msg: SecAggShares): Result {
    return this.secaggMessage(link, 'secagg-shares', msg.round, (h) => this.secagg!.sharesFrom(h, msg));
  }

  /** Stage 4: a survivor's revealed shares. */
  secaggReveal(link: HospitalLink, msg: SecAggReveal): Result {
    return this.secaggMessage(link, 'secagg-reveal', msg.round, (h) => this.secagg!.reveal(h, msg));
  }

  private secaggMessage(link: HospitalLink, event: string, round: number, handle: (hospital: string) => Result): Result {
    const c = this.connected.get(link.id);
    if (!c) return this.reject(link, event, { code: 'unauthorized', message: 'say hello first' });
    if (!this.secagg || this.phase !== 'training' || round !== this.round) {
      return this.reject(link, event, { code: 'wrong-round', message: `round ${round} has no secure aggregation under way (the server is ${this.phase} round ${this.round})`, round });
    }
    const r = handle(c.hospital);
    return r.ok ? r : this.reject(link, event, r.error);
  }

  /**
   * The deadline passed (or the admin ended the round): hospitals that did not finish their
   * upload back off, so a silent hospital cannot hold every later round up; the round aggregates
   * what arrived if that is enough, otherwise it is run again without them.
   */
  private closeRoundNow(why: string): 'aggregated' | 'cancelled' {
    if (this.secagg) {
      // Secure aggregation: the stage under way closes with whoever answered; the round completes
      // if at least t remain (later stages have their own timeouts), otherwise it runs again.
      const secagg = this.secagg;
      secagg.closeStage(why);
      return secagg.stage === 'failed' ? 'cancelled' : 'aggregated';
    }
    const round = this.round;
    const now = Date.now();
    for (const hospital of this.participants) {
      if (this.hasContributed(hospital)) continue;
      const missed = (this.backOffs.get(hospital)?.missed ?? 0) + 1;
      const wait = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (missed - 1));
      const reason = `did not finish its upload for round ${round} before ${why}${missed > 1 ? ` (${missed} rounds in a row)` : ''}`;
      this.backOffs.set(hospital, { missed, until: now + wait, reason });
      this.warn(`${hospital} ${reason}: left out of rounds for ${Math.round(wait / 1000)} s`);
      this.audit('server', 'hospital-backed-off', `${hospital}: ${reason}; ${Math.round(wait / 1000)} s`);
    }
    const arrived = this.contributions().length;
    if (arrived >= this.minUpdates) {
      this.warn(`round ${round} ${why}: aggregating the updates of the ${arrived} hospitals that sent any`);
      this.aggregate();
      return 'aggregated';
    }
    this.warn(`round ${round} failed: ${arrived} of the ${this.minUpdates} required hospitals sent updates before ${why}; running it again`);
    this.audit('server', 'round-cancelled', `round ${round}: ${arrived} of ${this.minUpdates} required updates before ${why}`);
    this.runAgain();
    return 'cancelled';
  }

  private onDeadline(): void {
    this.timer = null;
    if (this.phase !== 'training') return;
    this.closeRoundNow('the deadline');
  }

  /** A round waits for hospitals that are backing off: look again when the first back-off ends. */
  private wakeAfterBackOff(now: number): void {
    if (this.backOffTimer) clearTimeout(this.backOffTimer);
    this.backOffTimer = null;
    const ends = [...this.backOffs.values()].map((b) => b.until).filter((t) => t > now);
    if (ends.length === 0) return;
    this.backOffTimer = setTimeout(() => {
      this.backOffTimer = null;
      this.changed();
      this.maybeStartRound();
    }, Math.min(...ends) - now + 10);
  }

  // ---- admin controls ------------------------------------------------------------------

  /** "End round now": as if the deadline were now. */
  endRound(round: number): Result<{ outcome: 'aggregated' | 'cancelled' }> {
    if (this.phase !== 'training' || round !== this.round) {
      return { ok: false, error: { code: 'wrong-round', message: `round ${round} is not training (the server is ${this.phase} round ${this.round})` } };
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.info(`the admin ended round ${round}`);
    return { ok: true, outcome: this.closeRoundNow('the admin ended it') };
  }

  /** Leaves a hospital out of rounds (and out of the current one), or lets it back in (also ending a back-off). */
  skipHospital(hospital: string, skip: boolean): Result {
    if (skip) {
      this.skipped.add(hospital);
      this.info(`the admin left ${hospital} out of rounds`);
      const c = [...this.connected.values()].find((x) => x.hospital === hospital);
      if (this.phase === 'training' && this.participants.has(hospital) && !this.hasContributed(hospital)) {
        if (c) {
          this.dropParticipant(c, 'update-begin', { code: 'not-participant', message: `the federation admin left ${hospital} out of round ${this.round}`, round: this.round });
        } else if (this.participants.delete(hospital)) queueMicrotask(() => this.maybeAggregate());
      }
    } else {
      this.skipped.delete(hospital);
      this.backOffs.delete(hospital);
      this.info(`the admin let ${hospital} back into rounds`);
      queueMicrotask(() => this.maybeStartRound());
    }
    this.changed();
    return { ok: true };
  }

  /** Moves the current round's deadline to `seconds` from now. */
  setDeadline(round: number, seconds: number): Result<{ deadline: number }> {
    if (this.phase !== 'training' || round !== this.round) {
      return { ok: false, error: { code: 'wrong-round', message: `round ${round} is not training (the server is ${this.phase} round ${this.round})` } };
    }
    if (this.timer) clearTimeout(this.timer);
    this.deadline = Date.now() + seconds * 1000;
    this.timer = setTimeout(() => this.onDeadline(), seconds * 1000);
    this.info(`the admin set round ${round}'s deadline to ${new Date(this.deadline).toISOString()}`);
    this.changed();
    return { ok: true, deadline: this.deadline };
  }

  /** True once every sub-client this hospital announced has uploaded. */
  private hasContributed(hospital: string): boolean {
    const p = this.progress.get(hospital);
    return p !== undefined && p.received.size === p.expected;
  }

  /** Per hospital, what is in the accumulator: every hospital with at least one accepted update. */
  private contributions(): Contribution[] {
    return [...this.progress]
      .filter(([, p]) => p.received.size > 0)
      .map(([hospital, p]) => ({
        hospital,
        trainSamples: p.samples,
        trainLoss: p.samples > 0 ? p.lossSum / p.samples : 0,
        backend: p.backend,
        subClients: p.received.size,
        ...(p.dpSgdEpsilon !== undefined && { dpSgdEpsilon: p.dpSgdEpsilon }),
      }));
  }

  private maybeAggregate(): void {
    // Under secure aggregation the round aggregates when the sum is unmasked (secaggDone).
    if (this.phase !== 'training' || this.secagg) return;
    const outstanding = [...this.participants].filter((h) => !this.hasContributed(h));
    if (outstanding.length === 0 && this.contributions().length >= this.minUpdates) this.aggregate();
  }

  private get minUpdates(): number {
    return this.config.minUpdates ?? this.config.minClients;
  }

  private aggregate(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.endSecagg();
    this.phase = 'aggregating';
    this.changed();
    if (this.personalization) {
      void this.aggregatePersonalized(this.personalization);
      return;
    }
    const round = this.round;
    const contributions = this.contributions();
    const [plan, aggregator] = [this.roundPlan!, this.aggregator!];
    this.aggregator = null;
    this.roundPlan = null;
    let closed: ReturnType<RoundEngine['close']>;
    try {
      closed = this.engine.close(plan, aggregator);
      // Weights and the ledgers that account for them go to disk in one transaction.
      this.store.saveRound(this.config.id, round, closed.weights, contributions, closed.dp && { dp: closed.dp, ledger: closed.ledgers }, encodeServerState(closed.serverState));
    } catch (e) {
      // Nothing was released or adopted: the round runs again, the server stays up.
      this.record('error', `round ${round}: aggregation failed (${(e as Error).message}); running the round again`);
      this.runAgain();
      return;
    }
    this.engine.commit(closed);
    const weights = closed.weights;
    const dp = closed.dp;
    if (dp) {
      // Only public settings, released values and ε: the same fields the admin sees.
      const eps = dp.epsilon ? `ε = ${dp.epsilon.patient.toFixed(3)} per patient, ${dp.epsilon.hospital.toFixed(3)} per hospital` : 'NOT PRIVATE (median clip): ε = ∞';
      this.info(
        `round ${round}: ${dp.probe ? 'probe (noised norm sum only; model unchanged)' : `M = ${dp.updates} updates clipped to C = ${dp.clip}, noise σ = ${dp.sigma.toExponential(2)} on the mean`}; ${eps}`,
      );
      if (dp.adaptive) this.info(`adaptive intermediary (noised inputs): λ̃ = ${dp.adaptive.lambda.toExponential(3)}, v = ${dp.adaptive.v.toFixed(3)}, VN → ${dp.nextVirtualClients}`);
    }
    const updates = contributions.reduce((n, c) => n + c.subClients, 0);
    this.info(`round ${round} aggregated from ${contributions.length} hospitals (${updates} updates)`);
    this.audit('server', 'round-aggregated', `round ${round} from ${contributions.map((c) => c.hospital).join(', ')} (${updates} updates)`);
    this.release(round, weights, contributions.length, null);
  }

  /**
   * FedBN / PRR-FL: the transform runs in a worker thread (PFA's FFTs would stall the sockets);
   * the round's plain average is kept as the global model for hospitals that were not in it.
   */
  private async aggregatePersonalized(personalization: PersonalizationConfig): Promise<void> {
    const round = this.round;
    const contributions = this.contributions();
    const global = this.aggregator!.result().weights;
    this.aggregator = null;
    let perHospital: Map<string, NamedTensor[]>;
    try {
      perHospital = await this.worker.run(personalization, this.buffered, { round: round - 1, rounds: this.config.rounds });
    } catch (e) {
      this.record('error', `round ${round}: ${personalization.strategy} aggregation failed (${(e as Error).message}); running the round again`);
      this.runAgain();
      return;
    }
    this.store.saveRound(this.config.id, round, global, contributions, null, null, perHospital);
    this.info(`round ${round}: ${personalization.strategy} gave each of ${perHospital.size} hospitals its own model`);
    this.audit('server', 'round-aggregated', `round ${round} (${personalization.strategy}) from ${contributions.map((c) => c.hospital).join(', ')}`);
    this.release(round, global, contributions.length, perHospital);
  }

  /** The round released nothing: back to waiting, and start it again when enough hospitals are ready. */
  private runAgain(): void {
    this.endSecagg();
    this.phase = 'waiting';
    this.deadline = null;
    this.changed();
    this.maybeStartRound();
  }

  /** Makes a stored round the current one, and sends every hospital its result. */
  private release(round: number, weights: NamedTensor[], participants: number, perHospital: Map<string, NamedTensor[]> | null): void {
    this.global = weights;
    this.globalPayload = encodeWeights(weights);
    this.round = round + 1;
    this.deadline = null;
    this.phase = round >= this.config.rounds ? 'done' : 'waiting';
    for (const [hospital, own] of perHospital ?? []) this.hospitalPayloads.set(hospital, encodeWeights(own));
    const privacy = this.hospitalPrivacy();
    for (const c of this.connected.values()) {
      if (c.ready) c.link.emit('round-result', { round, participants, privacy, weights: this.payloadFor(c.hospital), ...(this.lastSecagg && this.config.secureAggregation && { secagg: this.lastSecagg }) });
    }
    if (this.phase === 'done') {
      this.info(`federation finished after round ${round}`);
      for (const c of this.connected.values()) c.link.emit('federation-done', { round });
    }
    this.changed();
    this.maybeStartRound();
  }

  // ---- updates (chunked) ---------------------------------------------------------------

  /** Checks that this hospital may upload for this round, and that it is not too big. */
  beginUpdate(link: HospitalLink, msg: UpdateBegin): Result {
    const c = this.connected.get(link.id);
    if (!c) return this.reject(link, 'update-begin', { code: 'unauthorized', message: 'say hello first' });
    if (this.phase !== 'training' || msg.round !== this.round) {
      return this.reject(link, 'update-begin', {
        code: 'wrong-round',
        message: `round ${msg.round} is not open for updates (the server is ${this.phase} round ${this.round})`,
        round: msg.round,
      });
    }
    if (!this.participants.has(c.hospital) || this.hasContributed(c.hospital)) {
      return this.reject(link, 'update-begin', {
        code: 'not-participant',
        message: `${c.hospital} is not expected to upload for round ${msg.round}`,
        round: msg.round,
      });
    }
    if (this.secagg || msg.masked) return this.beginMaskedUpload(c, msg);
    const subClients = msg.subClients ?? 1;
    const subClient = msg.subClient ?? 0;
    const allowed = this.roundPlan?.virtualClients ?? 1;
    if (subClients > allowed) {
      // More sub-clients than asked would multiply the hospital's sensitivity past what is accounted.
      return this.dropParticipant(c, 'update-begin', {
        code: 'bad-message',
        message: `${subClients} sub-clients announced; round ${msg.round} asked for at most ${allowed}`,
        round: msg.round,
      });
    }
    const seen = this.progress.get(c.hospital);
    if (seen && seen.expected !== subClients) {
      return this.dropParticipant(c, 'update-begin', {
        code: 'bad-message',
        message: `${subClients} sub-clients announced after ${seen.expected} earlier in round ${msg.round}`,
        round: msg.round,
      });
    }
    if (seen?.received.has(subClient)) {
      return this.reject(link, 'update-begin', {
        code: 'not-participant',
        message: `sub-client ${subClient} of ${c.hospital} already uploaded for round ${msg.round}`,
        round: msg.round,
      });
    }
    if (msg.totalBytes > this.config.maxUpdateBytes) {
      return this.dropParticipant(c, 'update-begin', {
        code: 'too-large',
        message: `update of ${msg.totalBytes} bytes is over the limit of ${this.config.maxUpdateBytes} bytes`,
        round: msg.round,
      });
    }
    if (msg.totalBytes !== this.expectedBytes) {
      return this.dropParticipant(c, 'update-begin', {
        code: 'bad-weights',
        message: `update of ${msg.totalBytes} bytes does not match the model (${this.expectedBytes} bytes)`,
        round: msg.round,
      });
    }
    // Under DP the buffer lies where the aggregator's kernels read it in place (when it has one free).
    const place = this.aggregator && 'uploadPlace' in this.aggregator ? this.aggregator.uploadPlace() : null;
    this.uploads.set(c.hospital, { begin: msg, buffer: new UploadBuffer(msg.totalBytes, this.uploadBuffers, place, updateInfoOf(msg)) });
    this.armStall(c, msg.round);
    return { ok: true };
  }

  /** Secure aggregation's stage 3: a hospital's masked sum, uploaded in chunks like an update. */
  private beginMaskedUpload(c: Connected, msg: UpdateBegin): Result {
    if (!this.secagg || !msg.masked) {
      return this.dropParticipant(c, 'update-begin', {
        code: 'bad-message',
        message: this.secagg ? `round ${msg.round} uses secure aggregation: upload the masked input (masked), never the update itself` : `round ${msg.round} does not use secure aggregation`,
        round: msg.round,
      });
    }
    const refusal = this.secagg.uploadRefusal(c.hospital);
    if (refusal) return this.reject(c.link, 'update-begin', { code: 'not-participant', message: refusal, round: msg.round });
    const allowed = this.roundPlan?.virtualClients ?? 1;
    if (msg.masked.updates > allowed) {
      return this.dropParticipant(c, 'update-begin', { code: 'bad-message', message: `${msg.masked.updates} updates in the masked sum; round ${msg.round} asked for at most ${allowed}`, round: msg.round });
    }
    const bytes = 4 * this.secagg.settings.length;
    if (msg.totalBytes !== bytes) {
      return this.dropParticipant(c, 'update-begin', { code: 'bad-weights', message: `a masked input of ${msg.totalBytes} bytes; round ${msg.round} takes ${bytes} (${this.secagg.settings.length} ring elements)`, round: msg.round });
    }
    this.uploads.set(c.hospital, { begin: msg, buffer: new UploadBuffer(msg.totalBytes) });
    this.armStall(c, msg.round);
    return { ok: true };
  }

  addChunk(link: HospitalLink, msg: { round: number; index: number; data: Uint8Array }): Result<{ received: number }> {
    const c = this.connected.get(link.id);
    const upload = c && this.uploads.get(c.hospital);
    if (!c || !upload || upload.begin.round !== msg.round) {
      return this.reject(link, 'update-chunk', { code: 'wrong-round', message: 'no upload in progress for this round', round: msg.round });
    }
    if (msg.index !== upload.buffer.chunkCount) {
      return this.dropParticipant(c, 'update-chunk', {
        code: 'bad-message',
        message: `chunk ${msg.index} arrived, chunk ${upload.buffer.chunkCount} was expected`,
        round: msg.round,
      });
    }
    // Every chunk is full size but the last: tiny chunks would cost one ack and one timer each.
    const expected = Math.min(this.config.chunkBytes, upload.begin.totalBytes - upload.buffer.received);
    if (msg.data.length !== expected) {
      return this.dropParticipant(c, 'update-chunk', {
        code: msg.data.length > expected ? 'too-large' : 'bad-message',
        message: `chunk ${msg.index} has ${msg.data.length} bytes; ${expected} were expected (chunks of ${this.config.chunkBytes} bytes, the last one the rest)`,
        round: msg.round,
      });
    }
    upload.buffer.push(msg.data);
    this.armStall(c, msg.round);
    return { ok: true, received: upload.buffer.received };
  }

  endUpdate(link: HospitalLink, msg: { round: number }): Result {
    const c = this.connected.get(link.id);
    const upload = c && this.uploads.get(c.hospital);
    if (!c || !upload || upload.begin.round !== msg.round) {
      return this.reject(link, 'update-end', { code: 'wrong-round', message: 'no upload in progress for this round', round: msg.round });
    }
    this.uploads.delete(c.hospital);
    this.clearStall(c.hospital);
    if (upload.buffer.received !== upload.begin.totalBytes) {
      return this.dropParticipant(c, 'update-end', {
        code: 'bad-message',
        message: `upload ended after ${upload.buffer.received} of ${upload.begin.totalBytes} bytes`,
        round: msg.round,
      });
    }
    if (upload.begin.masked) return this.endMaskedUpload(c, upload.begin, upload.buffer.bytes);
    const info = updateInfoOf(upload.begin);
    // Refused: bad bytes, names or shapes, a non-finite value, or one the aggregator cannot use
    // (e.g. FedNova without a step count): this update cannot be used, the others can.
    const accepted = acceptUpdate(upload.buffer.bytes, this.spec, (update) => this.aggregator!.add(update, info));
    if (!accepted.ok) {
      upload.buffer.release();
      return this.dropParticipant(c, 'update-end', { code: accepted.code, message: accepted.message, round: msg.round });
    }
    // The update's values are views into the upload's buffer: it is reused unless they are kept.
    if (this.personalization) this.buffered.push({ hospital: c.hospital, weights: accepted.update, samples: upload.begin.trainSamples });
    else upload.buffer.release();
    const { subClient = 0, subClients = 1, trainSamples, trainLoss } = upload.begin;
    const p = this.progress.get(c.hospital) ?? { expected: subClients, received: new Set<number>(), samples: 0, lossSum: 0, backend: upload.begin.backend };
    p.received.add(subClient);
    if (upload.begin.dpSgdEpsilon !== undefined) p.dpSgdEpsilon = upload.begin.dpSgdEpsilon;
    p.samples += trainSamples;
    p.lossSum += trainLoss * trainSamples;
    this.progress.set(c.hospital, p);
    if (p.received.size === p.expected) this.backOffs.delete(c.hospital);
    this.info(
      `${c.hospital} uploaded round ${msg.round}${subClients > 1 ? ` sub-client ${subClient + 1}/${subClients}` : ''} (${trainSamples} samples, loss ${trainLoss.toFixed(3)})`,
    );
    queueMicrotask(() => this.maybeAggregate());
    this.changed();
    return { ok: true };
  }

  private endMaskedUpload(c: Connected, begin: UpdateBegin, bytes: Uint8Array): Result {
    if (!this.secagg) return this.reject(c.link, 'update-end', { code: 'wrong-round', message: `round ${begin.round} has no secure aggregation under way`, round: begin.round });
    // Ring elements travel little-endian (the byte order of every platform Fedward runs on; a fresh, aligned buffer).
    const vector = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const r = this.secagg.maskedFrom(c.hospital, vector, begin.masked!.updates);
    if (!r.ok) return this.reject(c.link, 'update-end', r.error);
    this.progress.set(c.hospital, { expected: 1, received: new Set([0]), samples: begin.trainSamples, lossSum: begin.trainLoss * begin.trainSamples, backend: begin.backend });
    this.backOffs.delete(c.hospital);
    this.info(`${c.hospital} uploaded its masked input for round ${begin.round} (${begin.masked!.updates} updates summed)`);
    this.changed();
    return { ok: true };
  }

  evaluation(link: HospitalLink, msg: Evaluation): Result {
    const c = this.connected.get(link.id);
    if (!c) return this.reject(link, 'evaluation', { code: 'unauthorized', message: 'say hello first' });
    // Only the latest model, the one the hospital was just sent: no rewriting of past rounds' figures.
    if (msg.round !== this.round - 1) {
      return this.reject(link, 'evaluation', {
        code: 'wrong-round',
        message: `evaluations are taken for round ${this.round - 1}, the latest model, not round ${msg.round}`,
        round: msg.round,
      });
    }
    if (msg.testSamples > c.testSamples) {
      return this.reject(link, 'evaluation', {
        code: 'bad-message',
        message: `${msg.testSamples} held-out slices evaluated, but ${c.testSamples} announced at hello`,
        round: msg.round,
      });
    }
    this.store.saveEvaluation(this.config.id, { ...msg, hospital: c.hospital });
    this.changed();
    return { ok: true };
  }

  /** Tells the sender what was wrong, keeps a record for the admin, and changes nothing else. */
  reject(link: HospitalLink, event: string, error: ProtocolError): { ok: false; error: ProtocolError } {
    const full = { ...error, event };
    const who = this.connected.get(link.id)?.hospital ?? 'unknown connection';
    this.warn(`rejected ${event} from ${who}: ${error.message}`);
    link.emit('protocol-error', full);
    return { ok: false, error: full };
  }

  /** A participant whose update is unusable leaves this round so the others are not held up. */
  private dropParticipant(c: Connected, event: string, error: ProtocolError): { ok: false; error: ProtocolError } {
    this.uploads.delete(c.hospital);
    this.clearStall(c.hospital);
    const r = this.reject(c.link, event, error);
    if (this.participants.delete(c.hospital)) {
      this.warn(`${c.hospital} is out of round ${this.round}; the round goes on with the others`);
      queueMicrotask(() => this.maybeAggregate());
    }
    return r;
  }

  /** (Re)starts the stalled-upload timer of this hospital's upload. */
  private armStall(c: Connected, round: number): void {
    this.clearStall(c.hospital);
    const ms = this.config.uploadStallMs ?? 60_000;
    this.stallTimers.set(
      c.hospital,
      setTimeout(() => {
        this.stallTimers.delete(c.hospital);
        if (this.phase !== 'training' || this.round !== round || !this.uploads.has(c.hospital)) return;
        this.dropParticipant(c, 'update-chunk', {
          code: 'timeout',
          message: `no upload data from ${c.hospital} for ${Math.round(ms / 1000)} s: its upload is cancelled and it leaves round ${round}`,
          round,
        });
      }, ms),
    );
  }

  private clearStall(hospital: string): void {
    const t = this.stallTimers.get(hospital);
    if (t) clearTimeout(t);
    this.stallTimers.delete(hospital);
  }

  // ---- views ---------------------------------------------------------------------------

  snapshot(tokens: FederationSnapshot['tokens'], enrolled: string[] = []): FederationSnapshot {
    const evaluations = this.store.evaluations(this.config.id);
    const rounds: RoundView[] = this.store.rounds(this.config.id).map((r) => {
      const evals = evaluations.filter((e) => e.round === r.round);
      // One vote per hospital: test-set sizes are the hospitals' own claims, and one hospital's
      // claim must not set the federation's figure.
      const n = evals.length;
      return {
        round: r.round,
        dp: r.dp,
        participants: r.participants,
        accuracy: n ? evals.reduce((s, e) => s + e.accuracy, 0) / n : null,
        loss: n ? evals.reduce((s, e) => s + e.loss, 0) / n : null,
        evaluations: evals.map(({ round: _r, ...e }) => e),
        completedAt: r.completedAt,
      };
    });
    const now = Date.now();
    const seen = new Set<string>();
    const hospitals: HospitalView[] = [...this.connected.values()].map((c) => {
      seen.add(c.hospital);
      return {
        name: c.hospital,
        connected: true,
        ...this.standing(c.hospital, c.ready ? (this.phase === 'training' && this.participants.has(c.hospital) ? (this.hasContributed(c.hospital) ? 'uploaded' : 'training') : 'ready') : 'starting', now),
        lastSeen: this.lastSeen.get(c.hospital) ?? null,
        backend: c.backend,
        status: c.status,
        trainSamples: c.trainSamples,
        testSamples: c.testSamples,
        ...(c.patientIds && { patientIds: c.patientIds }),
      };
    });
    // Hospitals that took part before but are offline now stay visible, with their latest figures.
    for (const r of [...rounds].reverse()) {
      for (const p of r.participants) {
        if (seen.has(p.hospital)) continue;
        seen.add(p.hospital);
        const test = r.evaluations.find((e) => e.hospital === p.hospital)?.testSamples ?? 0;
        hospitals.push({
          name: p.hospital,
          connected: false,
          ...this.standing(p.hospital, 'offline', now),
          lastSeen: this.lastSeen.get(p.hospital) ?? null,
          backend: p.backend,
          status: null,
          trainSamples: p.trainSamples,
          testSamples: test,
        });
      }
    }
    return {
      secagg: this.secagg?.view() ?? this.lastSecagg,
      config: this.config,
      status: this.studyStatus,
      frozen: this.frozen,
      phase: this.phase,
      round: this.round,
      deadline: this.deadline,
      hospitals,
      rounds,
      tokens,
      enrolled,
      log: [...this.log],
      // The next round has the current participants, or at least minClients of the ready hospitals.
      privacy: this.engine.privacyView(
        this.phase === 'training' ? this.participants.size : Math.max(this.config.minClients, [...this.connected.values()].filter((c) => c.ready).length),
      ),
      stopReason: this.stopReason,
    };
  }

  /** Skipped and backing-off override what a hospital is doing, and say why. */
  private standing(hospital: string, state: HospitalState, now: number): Pick<HospitalView, 'state' | 'note' | 'until'> {
    if (this.skipped.has(hospital)) return { state: state === 'offline' ? 'offline' : 'skipped', note: 'left out of rounds by the admin' };
    const b = this.backOffs.get(hospital);
    if (b && b.until > now && state !== 'training' && state !== 'uploaded') {
      return { state: state === 'offline' ? 'offline' : 'backing-off', note: b.reason, until: b.until };
    }
    return { state };
  }

  get globalWeights(): readonly NamedTensor[] {
    return this.global;
  }

  info(message: string): void {
    this.record('info', message);
  }

  warn(message: string): void {
    this.record('warn', message);
  }

  record(level: LogEntry['level'], raw: string): void {
    // Messages can carry client-chosen text (tensor names, hospital names, URLs): control
    // characters are escaped so no client can forge or split a log line, and length is bounded.
    const message = escapeControl(raw).slice(0, 2000);
    this.log.push({ at: Date.now(), level, message });
    if (this.log.length > LOG_LIMIT) this.log.shift();
    if (process.env.FEDWARD_QUIET !== '1') console.log(`[${level}] ${message}`);
    this.changed();
  }

  private changed(): void {
    this.onChange();
  }
}
