/** Messages between the bench page, its import worker, and the Node runner (import-bench.ts). */
import type { DatasetSummary, FileProblem } from '../../src/index';

export interface BenchRequest {
  type: 'start';
  files: File[];
  targetSize: number;
  storeName: string;
  /** importFiles' readAhead; its default when absent. */
  readAhead?: number;
  /** After the timed import, time each stage alone on the same files (not part of the figure). */
  breakdown: boolean;
}

/** Milliseconds spent in each stage when run alone over every file. */
export interface StageBreakdown {
  files: number;
  readMs: number;
  decodeMs: number;
  windowMs: number;
  resizeMs: number;
  quantizeMs: number;
  hashMs: number;
  /** putBatch of the quantised slices into a second, scratch store. */
  storeMs: number;
}

export interface WorkerResult {
  imported: number;
  failed: FileProblem[];
  skipped: number;
  summary: DatasetSummary;
  /** importFiles' own clock: from its call to its return, inside the worker. */
  importMs: number;
  /** importFiles' own account (ImportResult.waits): time it waited for file bytes and for IndexedDB writes. */
  readWaitMs: number;
  storeWaitMs: number;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'progress'; processed: number; total: number }
  | { type: 'done'; result: WorkerResult }
  | { type: 'breakdown'; breakdown: StageBreakdown }
  | { type: 'error'; message: string };

/** What the page leaves in window.__bench for the runner. */
export interface PageResult extends WorkerResult {
  /** From the input's change event (the files are picked) to the worker's done message. */
  wallMs: number;
  /** From the change event to the worker's 'ready' message (its module loaded; delayed while the page is busy posting). */
  workerStartMs: number;
  /** Main-thread time of the postMessage that hands the File objects to the worker. */
  postMs: number;
  files: number;
  breakdown?: StageBreakdown;
}

declare global {
  interface Window {
    /** 'imported': the timed import is over, the stage breakdown still runs. */
    __bench?: { state: 'idle' | 'running' | 'imported' | 'done' | 'error'; result?: PageResult; error?: string; processed?: number };
    /** Set by the runner before it picks the folder. */
    /** keepWorker: leave the worker running after the import (for the runner's profiler) until __benchRelease(). */
    __benchOptions?: { targetSize: number; storeName: string; breakdown: boolean; keepWorker?: boolean; readAhead?: number };
    __benchRelease?: () => void;
  }
}
