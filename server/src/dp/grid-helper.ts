import { availableParallelism } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import { setGridHelper, type GridHelper } from '@fedward/privacy';

/**
 * The second thread for the DP grid's passes (packages/privacy/src/grid-kernels.ts): a worker that
 * runs one WebAssembly kernel call at a time on the grid's shared memory while the coordinator's
 * thread runs the other half, then waits for it. On one thread the kernels are compute-bound (as
 * fast from cache as from memory), so a second core is what makes add() faster; on two, a large
 * update's passes are bound by memory traffic (grid-kernels.ts orders them for the cache). The
 * bits are the same as one thread's (the privacy package's tests and grid-helper.test.ts check it).
 *
 * Hand-over through a small shared control block, no message per call: the caller writes the
 * call, flips the state word and wakes the worker (Atomics.notify); the worker runs it, writes the
 * result and flips the word back. Attaching a memory (once per grid memory) goes by a message the
 * worker reads synchronously (receiveMessageOnPort) when woken for it. The worker is unref'd: it
 * never keeps the process alive.
 */

const IDLE = 0;
const RUN = 1;
const DONE = 2;
const FAILED = 3;
const ATTACH = 4;
const NAMES = ['norm_blocks', 'grid_add'] as const;
/** Most arguments of a kernel call. */
const ARGS = 8;
/** How long the caller waits for one call before it gives up (a healthy call takes milliseconds). */
const PATIENCE_MS = 60_000;

// Plain JavaScript, evaluated in the worker (no TypeScript loader there).
const WORKER = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const state = new Int32Array(workerData.control, 0, 4);
const args = new Float64Array(workerData.control, 16, ${ARGS + 1});
const names = ${JSON.stringify(NAMES)};
let kernels = null;
for (;;) {
  Atomics.wait(state, 0, ${IDLE});
  const s = Atomics.load(state, 0);
  if (s === ${ATTACH}) {
    const { module, memory } = receiveMessageOnPort(workerData.port).message;
    kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
    Atomics.store(state, 0, ${IDLE});
    Atomics.notify(state, 0);
  } else if (s === ${RUN}) {
    let next = ${DONE};
    try {
      args[${ARGS}] = kernels[names[state[1]]](...args.subarray(0, state[2])) ?? 0;
    } catch {
      next = ${FAILED};
    }
    Atomics.store(state, 0, next);
    Atomics.notify(state, 0);
  }
}`;

export class GridHelperThread implements GridHelper {
  private readonly worker: Worker;
  private readonly port: MessageChannel['port1'];
  /** [state, kernel index, argument count, unused]. */
  private readonly state: Int32Array;
  /** The arguments, then the result. */
  private readonly args: Float64Array;
  private running = false;

  constructor() {
    const control = new SharedArrayBuffer(16 + 8 * (ARGS + 1));
    this.state = new Int32Array(control, 0, 4);
    this.args = new Float64Array(control, 16, ARGS + 1);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(WORKER, { eval: true, workerData: { control, port: port2 }, transferList: [port2] });
    this.worker.unref();
    this.port.unref();
    // A helper whose thread has gone is never used again (the passes then run on one thread).
    this.worker.once('exit', () => uninstall(this));
  }

  /** False once the worker has stopped (Node sets its threadId to −1, before the 'exit' event). */
  get alive(): boolean {
    return this.worker.threadId !== -1;
  }

  attach(module: WebAssembly.Module, memory: WebAssembly.Memory): void {
    if (!this.alive) throw new Error('the grid helper thread has stopped');
    this.port.postMessage({ module, memory });
    this.signal(ATTACH);
    // The worker may still be starting (tens of ms, the first time): it reads the message once up.
    this.await(ATTACH);
    if (Atomics.load(this.state, 0) !== IDLE) throw new Error('the grid helper thread could not take the kernels');
  }

  start(name: 'norm_blocks' | 'grid_add', args: readonly number[]): void {
    if (!this.alive) throw new Error('the grid helper thread has stopped');
    if (this.running) throw new Error('the grid helper thread is already running a call');
    if (args.length > ARGS) throw new RangeError(`a kernel call has at most ${ARGS} arguments`);
    this.state[1] = NAMES.indexOf(name);
    this.state[2] = args.length;
    this.args.set(args);
    this.running = true;
    this.signal(RUN);
  }

  finish(): number {
    if (!this.running) throw new Error('no call was started on the grid helper thread');
    this.running = false;
    this.await(RUN);
    const s = Atomics.load(this.state, 0);
    Atomics.store(this.state, 0, IDLE);
    if (s !== DONE) throw new Error(`the grid helper thread's kernel call ${s === FAILED ? 'failed' : this.alive ? 'did not end' : 'ended with the thread'}`);
    return this.args[ARGS]!;
  }

  /** Stops the worker (tests; a server's helper lives as long as the process). */
  async close(): Promise<void> {
    this.port.close();
    await this.worker.terminate();
  }

  private signal(state: number): void {
    Atomics.store(this.state, 0, state);
    Atomics.notify(this.state, 0);
  }

  /** Blocks until the state word leaves `state`, the worker stops or the patience runs out. */
  private await(state: number): void {
    const deadline = Date.now() + PATIENCE_MS;
    while (Atomics.load(this.state, 0) === state && Date.now() < deadline && this.alive) Atomics.wait(this.state, 0, state, 20);
  }
}

let installed: GridHelperThread | null = null;

/**
 * Gives the DP grid's passes a second thread for the rest of the process, where the machine has a
 * second core (`threads` 1: none). Idempotent: one helper thread per process, whatever number of
 * servers it starts. Returns the threads the passes use.
 */
export function useGridHelperThread(threads = availableParallelism() >= 2 ? 2 : 1): 1 | 2 {
  if (threads < 2) {
    setGridHelper(null);
    return 1;
  }
  installed ??= new GridHelperThread();
  setGridHelper(installed);
  return 2;
}

/** Stops the process's helper thread, if one is installed (its exit uninstalls it: one thread again). */
export async function stopGridHelperThread(): Promise<void> {
  const helper = installed;
  if (!helper) return;
  await helper.close();
  // 'exit' is emitted on a later turn of the event loop; the grid must not wait for it.
  uninstall(helper);
}

/** The grid stops using `helper` if it is the installed one (its passes then run on one thread). */
function uninstall(helper: GridHelperThread): void {
  if (installed !== helper) return;
  installed = null;
  setGridHelper(null);
}
