import { encodeWeights, federationConfigSchema, type FederationConfig, type NamedTensor, type PrivacyConfig, type ServerToHospital } from '@fedward/protocol';
import { Coordinator, type HospitalLink } from '../src/coordinator';
import { Store } from '../src/store';
import { tempDb } from './helpers';

/**
 * Drives the real Coordinator (the server's round state machine, its round engine and a real
 * SQLite store) with in-process hospital links: hello, then every round each hospital uploads its
 * VN updates through update-begin / chunks / update-end, exactly as a socket would deliver them.
 * The updates come from a function of (hospital, round, the global model, sub-client), so two
 * runs can differ in exactly one hospital's update.
 */

/** A two-tensor model of `d` values (the coordinator only needs names and sizes). */
export function flatModel(d: number, fill: (k: number) => number): NamedTensor[] {
  const half = Math.floor(d / 2);
  return [
    { name: 'dense/kernel', shape: [half], values: Float32Array.from({ length: half }, (_, k) => fill(k)) },
    { name: 'dense/bias', shape: [d - half], values: Float32Array.from({ length: d - half }, (_, k) => fill(k + half)) },
  ];
}

export type UpdateFn = (hospital: string, round: number, global: readonly NamedTensor[], subClient: number) => NamedTensor[];

export interface DrivenRun {
  store: Store;
  dbPath: string;
  coordinator: Coordinator;
  config: FederationConfig;
  /** Every console line the coordinator printed. */
  printed: string[];
  close(): void;
}

class Link implements HospitalLink {
  readonly events: { event: string; payload: unknown }[] = [];
  private waiters: (() => void)[] = [];
  constructor(readonly id: string) {}
  emit<E extends keyof ServerToHospital>(event: E, ...args: Parameters<ServerToHospital[E]>): void {
    this.events.push({ event, payload: args[0] });
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  disconnect(): void {}
  /** Resolves with the first event of this kind at or after index `from`. */
  async next(event: string, from: number): Promise<{ index: number; payload: unknown }> {
    for (;;) {
      const i = this.events.findIndex((e, k) => k >= from && e.event === event);
      if (i >= 0) return { index: i, payload: this.events[i]!.payload };
      const done = this.events.findIndex((e, k) => k >= from && e.event === 'federation-done');
      if (done >= 0) throw new Error(`federation ended before ${event}: ${JSON.stringify(this.events[done]!.payload)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

export async function driveFederation(o: {
  hospitals: string[];
  rounds: number;
  dimension: number;
  privacy: PrivacyConfig;
  aggregation?: FederationConfig['aggregation'];
  update: UpdateFn;
  initial?: (k: number) => number;
}): Promise<DrivenRun> {
  const dbPath = tempDb();
  const store = new Store(dbPath);
  const config = federationConfigSchema.parse({
    id: 'driven',
    name: 'driven federation',
    rounds: o.rounds,
    minClients: o.hospitals.length,
    roundDeadlineMs: 600_000,
    maxUpdateBytes: 64 * 1024 * 1024,
    chunkBytes: 4096,
    model: { kind: 'small-cnn', inputSize: 8, channels: 1, numClasses: 2, seed: 1 },
    training: { epochs: 1, batchSize: 8, learningRate: 0.01 },
    privacy: o.privacy,
    ...(o.aggregation && { aggregation: o.aggregation }),
  });
  store.createFederation(config, flatModel(o.dimension, o.initial ?? ((k) => Math.sin(k) * 0.1)));
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  const quiet = process.env.FEDWARD_QUIET;
  delete process.env.FEDWARD_QUIET;
  const coordinator = new Coordinator(config, store, () => {});
  try {
    const links = o.hospitals.map((h) => {
      const link = new Link(`link-${h}`);
      coordinator.attach(link, h);
      return link;
    });
    const seen = links.map(() => 0);
    for (const link of links) coordinator.hello(link, { backend: 'cpu', trainSamples: 40, testSamples: 8 });
    for (let round = 1; round <= o.rounds; round++) {
      for (let i = 0; i < links.length; i++) {
        const link = links[i]!;
        const start = await link.next('round-start', seen[i]!);
        seen[i] = start.index + 1;
        const { virtualClients } = start.payload as { virtualClients: number };
        const global = coordinator.globalWeights;
        for (let s = 0; s < virtualClients; s++) {
          const bytes = encodeWeights(o.update(o.hospitals[i]!, round, global, s));
          const begin = coordinator.beginUpdate(link, {
            round,
            trainSamples: 10,
            trainLoss: 0.5,
            backend: 'cpu',
            totalBytes: bytes.length,
            subClient: s,
            subClients: virtualClients,
            steps: 5,
          });
          if (!begin.ok) throw new Error(begin.error.message);
          for (let at = 0, index = 0; at < bytes.length; at += config.chunkBytes, index++) {
            const r = coordinator.addChunk(link, { round, index, data: bytes.subarray(at, at + config.chunkBytes) });
            if (!r.ok) throw new Error(r.error.message);
          }
          const end = coordinator.endUpdate(link, { round });
          if (!end.ok) throw new Error(end.error.message);
        }
      }
      // The last upload queues the aggregation: wait until this round's result went out.
      const first = links[0]!;
      while (!first.events.some((e) => e.event === 'round-result' && (e.payload as { round: number }).round === round)) {
        await first.next('round-result', first.events.length);
      }
    }
  } finally {
    console.log = log;
    if (quiet !== undefined) process.env.FEDWARD_QUIET = quiet;
  }
  return {
    store,
    dbPath,
    coordinator,
    config,
    printed,
    close: () => {
      coordinator.stop();
      store.close();
    },
  };
}
