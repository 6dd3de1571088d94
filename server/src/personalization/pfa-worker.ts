import { parentPort } from 'node:worker_threads';
import type { PersonalizationConfig } from '@fedward/protocol';
import { aggregatePersonalized, type HospitalUpdate, type PersonalizedRound } from './aggregate';

/**
 * PFA does full 2-D FFTs of every kernel for every hospital: tens of milliseconds to seconds on a
 * real model. It runs here, in a worker thread, so the server keeps answering sockets meanwhile.
 */
export interface PfaJob {
  id: number;
  config: PersonalizationConfig;
  updates: HospitalUpdate[];
  at: PersonalizedRound;
}

parentPort!.on('message', (job: PfaJob) => {
  try {
    const results = aggregatePersonalized(job.config, job.updates, job.at);
    const transfer = [...results.values()].flatMap((list) => list.map((t) => t.values.buffer as ArrayBuffer));
    parentPort!.postMessage({ id: job.id, ok: true, results: [...results] }, transfer);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
