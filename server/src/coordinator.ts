import {
  checkWeightsAgainst,
  decodeWeights,
  encodeWeights,
  specOf,
  type BackendName,
  type Evaluation,
  type FederationConfig,
  type FederationSnapshot,
  type HospitalStatus,
  type LogEntry,
  type NamedTensor,
  type Phase,
  type ProtocolError,
  type RoundView,
  type ServerToHospital,
  type TensorSpec,
  type UpdateBegin,
} from '@fedward/protocol';
import { DpFedAvgAccumulator } from './dp-fedavg';
import { FedAvgAccumulator } from './fedavg';
import { PrivacyBudget, type StoredLedgers } from './privacy-budget';
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
}

interface Upload {
  begin: UpdateBegin;
  chunks: Uint8Array[];
  received: number;
}

type Result<T = object> = ({ ok: true } & T) | { ok: false; error: ProtocolError };

const LOG_LIMIT = 200;

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
  private contributions: Contribution[] = [];
  private accumulator: FedAvgAccumulator | DpFedAvgAccumulator = new FedAvgAccumulator();
  private readonly budget: PrivacyBudget | null;
  private stopReason: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly log: LogEntry[] = [];

  constructor(
    readonly config: FederationConfig,
    private readonly store: Store,
    private readonly onChange: () => void,
  ) {
    const latest = store.latestRound(config.id);
    this.global = latest.weights;
    this.globalPayload = encodeWeights(latest.weights);
    this.spec = specOf(latest.weights);
    this.expectedBytes = this.globalPayload.length;
    this.round = latest.round + 1;
    this.budget = config.privacy ? new PrivacyBudget(config.privacy, latest.ledger as StoredLedgers | null) : null;
    if (latest.round >= config.rounds) this.phase = 'done';
    this.info(
      latest.round > 0
        ? `resumed after round ${latest.round} from the database`
        : `federation "${config.name}" ready: ${config.rounds} rounds, at least ${config.minClients} hospitals`,
    );
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
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
    this.changed();
  }

  detach(link: HospitalLink): void {
    const c = this.connected.get(link.id);
    if (!c) return;
    this.connected.delete(link.id);
    if (this.phase === 'training' && this.participants.has(c.hospital) && !this.hasContributed(c.hospital)) {
      this.participants.delete(c.hospital);
      this.uploads.delete(c.hospital);
      this.warn(`${c.hospital} left during round ${this.round}; the round goes on without it`);
      this.maybeAggregate();
    }
    this.changed();
  }

  hello(link: HospitalLink, msg: { backend: BackendName; trainSamples: number; testSamples: number }) {
    const c = this.connected.get(link.id);
    if (!c) throw new Error('hello from an unknown connection');
    Object.assign(c, { backend: msg.backend, trainSamples: msg.trainSamples, testSamples: msg.testSamples, ready: true });
    this.info(`${c.hospital} joined (${msg.trainSamples} training / ${msg.testSamples} held-out slices, ${msg.backend})`);
    const welcome = {
      hospital: c.hospital,
      config: this.config,
      round: this.round - 1,
      weights: this.globalPayload,
    };
    // Start the round after the welcome is on its way, so the newcomer sees both in order.
    queueMicrotask(() => {
      if (this.phase === 'done') {
        link.emit('federation-done', { round: this.round - 1, ...(this.stopReason ? { reason: this.stopReason } : {}) });
      } else this.maybeStartRound();
    });
    this.changed();
    return welcome;
  }

  status(link: HospitalLink, status: HospitalStatus): void {
    const c = this.connected.get(link.id);
    if (!c) return;
    c.status = status;
    this.changed();
  }

  // ---- rounds --------------------------------------------------------------------------

  private maybeStartRound(): void {
    if (this.phase !== 'waiting') return;
    const ready = [...this.connected.values()].filter((c) => c.ready && c.trainSamples > 0);
    if (ready.length < this.config.minClients) return;
    const budget = this.budget?.check();
    if (budget && !budget.allowed) {
      // Refuse before anything is released: the round never starts, so nothing is spent.
      this.phase = 'done';
      this.stopReason = budget.reason;
      this.warn(`round ${this.round} refused: ${budget.reason}`);
      for (const c of this.connected.values()) c.link.emit('federation-done', { round: this.round - 1, reason: budget.reason ?? '' });
      this.changed();
      return;
    }
    this.phase = 'training';
    this.participants = new Set(ready.map((c) => c.hospital));
    this.uploads.clear();
    this.contributions = [];
    this.accumulator = this.config.privacy
      ? new DpFedAvgAccumulator(this.global, this.config.privacy.clipNorm, this.config.privacy.noiseMultiplier)
      : new FedAvgAccumulator();
    this.deadline = Date.now() + this.config.roundDeadlineMs;
    this.timer = setTimeout(() => this.onDeadline(), this.config.roundDeadlineMs);
    this.info(`round ${this.round} started with ${[...this.participants].join(', ')}`);
    for (const c of ready) {
      c.link.emit('round-start', { round: this.round, deadline: this.deadline, weights: this.globalPayload });
    }
    this.changed();
  }

  private onDeadline(): void {
    this.timer = null;
    if (this.phase !== 'training') return;
    if (this.contributions.length >= this.minUpdates) {
      this.warn(`round ${this.round} deadline: aggregating the ${this.contributions.length} updates that arrived`);
      this.aggregate();
    } else {
      this.warn(
        `round ${this.round} failed: ${this.contributions.length} of the ${this.minUpdates} required updates arrived before the deadline; running it again`,
      );
      this.phase = 'waiting';
      this.deadline = null;
      this.changed();
      this.maybeStartRound();
    }
  }

  private hasContributed(hospital: string): boolean {
    return this.contributions.some((c) => c.hospital === hospital);
  }

  private maybeAggregate(): void {
    if (this.phase !== 'training') return;
    const outstanding = [...this.participants].filter((h) => !this.hasContributed(h));
    if (outstanding.length === 0 && this.contributions.length >= this.minUpdates) this.aggregate();
  }

  private get minUpdates(): number {
    return this.config.minUpdates ?? this.config.minClients;
  }

  private aggregate(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.phase = 'aggregating';
    this.changed();
    const round = this.round;
    let weights: NamedTensor[];
    if (this.accumulator instanceof DpFedAvgAccumulator) {
      const result = this.accumulator.result();
      const after = this.budget!.afterRound(round);
      const dp = { ...result.record, epsilonSubClient: after.epsilon.subClient, epsilonHospital: after.epsilon.hospital };
      // Weights and the ledger that accounts for them go to disk in one transaction.
      this.store.saveRound(this.config.id, round, result.weights, this.contributions, { dp, ledger: after.json });
      this.budget!.adopt(after.ledgers);
      weights = result.weights;
      this.info(
        `round ${round}: clipped ${dp.clipped}/${dp.updates} updates to C = ${dp.clip}, noise σ = ${dp.sigma.toExponential(2)} (‖A‖ ${dp.aggregateNorm.toFixed(3)}, ‖noise‖ ${dp.noiseNorm.toFixed(3)}); ε = ${dp.epsilonHospital.toFixed(3)} per hospital`,
      );
    } else {
      weights = this.accumulator.result();
      this.store.saveRound(this.config.id, round, weights, this.contributions);
    }
    this.global = weights;
    this.globalPayload = encodeWeights(weights);
    this.info(`round ${round} aggregated from ${this.contributions.length} hospitals`);
    const participants = this.contributions.length;
    this.round = round + 1;
    this.deadline = null;
    this.phase = round >= this.config.rounds ? 'done' : 'waiting';
    for (const c of this.connected.values()) {
      if (c.ready) c.link.emit('round-result', { round, participants, weights: this.globalPayload });
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
    this.uploads.set(c.hospital, { begin: msg, chunks: [], received: 0 });
    return { ok: true };
  }

  addChunk(link: HospitalLink, msg: { round: number; index: number; data: Uint8Array }): Result<{ received: number }> {
    const c = this.connected.get(link.id);
    const upload = c && this.uploads.get(c.hospital);
    if (!c || !upload || upload.begin.round !== msg.round) {
      return this.reject(link, 'update-chunk', { code: 'wrong-round', message: 'no upload in progress for this round', round: msg.round });
    }
    if (msg.index !== upload.chunks.length) {
      return this.dropParticipant(c, 'update-chunk', {
        code: 'bad-message',
        message: `chunk ${msg.index} arrived, chunk ${upload.chunks.length} was expected`,
        round: msg.round,
      });
    }
    if (msg.data.length > this.config.chunkBytes || upload.received + msg.data.length > upload.begin.totalBytes) {
      return this.dropParticipant(c, 'update-chunk', {
        code: 'too-large',
        message: `chunk ${msg.index} (${msg.data.length} bytes) goes past the announced ${upload.begin.totalBytes} bytes or the ${this.config.chunkBytes}-byte chunk limit`,
        round: msg.round,
      });
    }
    // Copy: Socket.io may hand us a view into a buffer it reuses.
    upload.chunks.push(msg.data.slice());
    upload.received += msg.data.length;
    return { ok: true, received: upload.received };
  }

  endUpdate(link: HospitalLink, msg: { round: number }): Result {
    const c = this.connected.get(link.id);
    const upload = c && this.uploads.get(c.hospital);
    if (!c || !upload || upload.begin.round !== msg.round) {
      return this.reject(link, 'update-end', { code: 'wrong-round', message: 'no upload in progress for this round', round: msg.round });
    }
    this.uploads.delete(c.hospital);
    if (upload.received !== upload.begin.totalBytes) {
      return this.dropParticipant(c, 'update-end', {
        code: 'bad-message',
        message: `upload ended after ${upload.received} of ${upload.begin.totalBytes} bytes`,
        round: msg.round,
      });
    }
    const bytes = new Uint8Array(upload.received);
    let at = 0;
    for (const chunk of upload.chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    let update: NamedTensor[];
    try {
      update = decodeWeights(bytes);
    } catch (e) {
      return this.dropParticipant(c, 'update-end', { code: 'bad-weights', message: (e as Error).message, round: msg.round });
    }
    const problem = checkWeightsAgainst(this.spec, update);
    if (problem) return this.dropParticipant(c, 'update-end', { code: 'bad-weights', message: problem, round: msg.round });
    this.accumulator.add(update, upload.begin.trainSamples);
    this.contributions.push({
      hospital: c.hospital,
      trainSamples: upload.begin.trainSamples,
      trainLoss: upload.begin.trainLoss,
      backend: upload.begin.backend,
    });
    this.info(`${c.hospital} uploaded round ${msg.round} (${upload.begin.trainSamples} samples, loss ${upload.begin.trainLoss.toFixed(3)})`);
    queueMicrotask(() => this.maybeAggregate());
    this.changed();
    return { ok: true };
  }

  evaluation(link: HospitalLink, msg: Evaluation): Result {
    const c = this.connected.get(link.id);
    if (!c) return this.reject(link, 'evaluation', { code: 'unauthorized', message: 'say hello first' });
    if (msg.round >= this.round) {
      return this.reject(link, 'evaluation', { code: 'wrong-round', message: `round ${msg.round} has no global model yet`, round: msg.round });
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
    const r = this.reject(c.link, event, error);
    if (this.participants.delete(c.hospital)) {
      this.warn(`${c.hospital} is out of round ${this.round}; the round goes on with the others`);
      queueMicrotask(() => this.maybeAggregate());
    }
    return r;
  }

  // ---- views ---------------------------------------------------------------------------

  snapshot(tokens: FederationSnapshot['tokens']): FederationSnapshot {
    const evaluations = this.store.evaluations(this.config.id);
    const rounds: RoundView[] = this.store.rounds(this.config.id).map((r) => {
      const evals = evaluations.filter((e) => e.round === r.round);
      const n = evals.reduce((s, e) => s + e.testSamples, 0);
      return {
        round: r.round,
        dp: r.dp,
        participants: r.participants,
        accuracy: n ? evals.reduce((s, e) => s + e.accuracy * e.testSamples, 0) / n : null,
        loss: n ? evals.reduce((s, e) => s + e.loss * e.testSamples, 0) / n : null,
        evaluations: evals.map(({ round: _r, ...e }) => e),
        completedAt: r.completedAt,
      };
    });
    const seen = new Set<string>();
    const hospitals = [...this.connected.values()].map((c) => {
      seen.add(c.hospital);
      return {
        name: c.hospital,
        connected: true,
        backend: c.backend,
        status: c.status,
        trainSamples: c.trainSamples,
        testSamples: c.testSamples,
      };
    });
    // Hospitals that took part before but are offline now stay visible.
    for (const r of rounds) {
      for (const p of r.participants) {
        if (seen.has(p.hospital)) continue;
        seen.add(p.hospital);
        hospitals.push({ name: p.hospital, connected: false, backend: p.backend, status: null, trainSamples: p.trainSamples, testSamples: 0 });
      }
    }
    return {
      config: this.config,
      phase: this.phase,
      round: this.round,
      deadline: this.deadline,
      hospitals,
      rounds,
      tokens,
      log: [...this.log],
      privacy: this.budget?.view() ?? null,
      stopReason: this.stopReason,
    };
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

  private record(level: LogEntry['level'], message: string): void {
    this.log.push({ at: Date.now(), level, message });
    if (this.log.length > LOG_LIMIT) this.log.shift();
    if (process.env.FEDWARD_QUIET !== '1') console.log(`[${level}] ${message}`);
    this.changed();
  }

  private changed(): void {
    this.onChange();
  }
}
