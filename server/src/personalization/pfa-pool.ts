import { Worker } from 'node:worker_threads';
import type { NamedTensor, PersonalizationConfig } from '@fedward/protocol';
import type { HospitalUpdate, PersonalizedRound } from './aggregate';
import type { PfaJob } from './pfa-worker';

type Reply = { id: number; ok: true; results: [string, NamedTensor[]][] } | { id: number; ok: false; message: string };

/**
 * One worker thread for the personalized aggregations, started on first use. Its entry registers
 * tsx itself, so it runs the TypeScript source under `node --import tsx` and under vitest alike.
 */
export class PersonalizationWorker {
  private worker: Worker | null = null;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: Map<string, NamedTensor[]>) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./pfa-worker-entry.mjs', import.meta.url));
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      // An idle worker must not keep the server process alive.
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) p.resolve(new Map(reply.results));
      else p.reject(new Error(reply.message));
    });
    const failAll = (e: Error) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = null;
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the personalization worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  run(config: PersonalizationConfig, updates: HospitalUpdate[], at: PersonalizedRound): Promise<Map<string, NamedTensor[]>> {
    const id = this.next++;
    const job: PfaJob = { id, config, updates, at };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const worker = this.start();
      worker.ref();
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
