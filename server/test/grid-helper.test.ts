import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '@fedward/models';
import { setEncodeRotationForTests, setGridHelper, type GridHelper } from '@fedward/privacy';
import { decodeWeights, encodeWeights, specOf, type NamedTensor } from '@fedward/protocol';
import { createDpAggregator, type ClipRule } from '../src/dp';
import { GridHelperThread, stopGridHelperThread, useGridHelperThread } from '../src/dp/grid-helper';
import { BufferPool, UploadBuffer, acceptUpdate } from '../src/update-intake';
import { bytesOf, counterFill, randomModel } from './aggregation-inputs';

/**
 * The DP grid's passes split with a real second thread (a worker on the grid's shared memory)
 * give the coordinator's release bit for bit, and the thread's hand-over fails loudly, not
 * silently.
 */

/** 300,013 values: large enough to be split (2^18), five norm blocks, odd tensor edges. */
const SIZES = [7, 150_000, 100_001, 50_005];
const model = (rand: () => number, scale: number, around?: readonly NamedTensor[]): NamedTensor[] => randomModel(SIZES, rand, scale, around);

/** Counts the calls the helper took, passing them on. */
class Counting implements GridHelper {
  calls = 0;
  readonly names: string[] = [];
  constructor(private readonly inner: GridHelper) {}
  attach(module: WebAssembly.Module, memory: WebAssembly.Memory): void {
    this.inner.attach(module, memory);
  }
  start(name: 'norm_blocks' | 'grid_add', args: readonly number[]): void {
    this.calls += 1;
    this.names.push(name);
    this.inner.start(name, args);
  }
  finish(): number {
    return this.inner.finish();
  }
}

describe('the DP grid with a helper thread', () => {
  const thread = new GridHelperThread();
  afterAll(async () => {
    setGridHelper(null);
    setEncodeRotationForTests(null);
    await thread.close();
  });

  it('releases the same bits as one thread, the coordinator\u2019s upload path in place, FedNova too', () => {
    const rand = seededRandom(71);
    const global = model(rand, 0.2);
    const spec = specOf(global);
    const updates = Array.from({ length: 5 }, (_, j) => model(rand, j % 2 ? 0.002 : 0.05, global));
    const clipRule: ClipRule = { kind: 'quantile', initialClip: 0.3, countNoise: 1 };
    for (const strategy of ['fedavg', 'fednova'] as const) {
      const releases = [];
      const plain = new Counting(thread);
      const rotated = new Counting(thread);
      // Each thread's encode pass from its range's start, or from its last 70,000 values first
      // (the server's order, scaled down to this model), on one thread and on two; the norm taken
      // as chunks of 64 KiB arrive (on the calling thread: one block at a time), or as the whole
      // upload arrives at once (its blocks split with the helper).
      for (const [helper, rotation, chunk] of [[null, 0, 65536], [null, 70_000, 2 ** 24], [plain, 0, 2 ** 24], [rotated, 70_000, 65536]] as const) {
        setGridHelper(helper);
        setEncodeRotationForTests(rotation);
        const agg = createDpAggregator({ global, z: 0.7, clipRule, normSumNoise: 2, strategy, publicSteps: 3, random: counterFill() });
        const pool = new BufferPool();
        updates.forEach((u, j) => {
          const bytes = encodeWeights(u);
          const info = { samples: 10, steps: 1 + j };
          const upload = new UploadBuffer(bytes.length, pool, agg.uploadPlace(), info);
          for (let at = 0; at < bytes.length; at += chunk) upload.push(bytes.subarray(at, at + chunk));
          const accepted = acceptUpdate(upload.bytes, spec, (v) => agg.add(v, info));
          expect(accepted.ok).toBe(true);
          upload.release();
        });
        releases.push(agg.result());
      }
      // Every update's norm pass (as it arrived whole) and at least one encode pass each went
      // through the thread; with chunks, only the encode passes, the rotated one as two calls.
      expect(plain.names.filter((n) => n === 'norm_blocks')).toHaveLength(updates.length);
      expect(plain.calls).toBeGreaterThanOrEqual(2 * updates.length);
      expect(rotated.names.filter((n) => n === 'norm_blocks')).toHaveLength(0);
      expect(rotated.calls).toBeGreaterThanOrEqual(2 * updates.length);
      for (const other of releases.slice(1)) {
        expect(bytesOf(other.weights)).toEqual(bytesOf(releases[0]!.weights));
        expect(other.record).toEqual(releases[0]!.record);
      }
    }
  });

  it('says so when a call fails or when none was started, and goes on working', async () => {
    const lone = new GridHelperThread();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    const module = new WebAssembly.Module(
      // (module (import "env" "memory" (memory 1 2 shared)) (func (export "grid_add") (param i32) (result f64) (f64.load (local.get 0))))
      new Uint8Array([
        0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 124, 2, 16, 1, 3, 101, 110, 118, 6, 109, 101, 109, 111, 114, 121, 2, 3, 1, 2, 3, 2, 1, 0, 7,
        12, 1, 8, 103, 114, 105, 100, 95, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 43, 3, 0, 11,
      ]),
    );
    new Float64Array(memory.buffer)[1] = 2.5;
    try {
      lone.attach(module, memory);
      expect(() => lone.finish()).toThrow(/no call was started/);
      lone.start('grid_add', [8]);
      expect(() => lone.start('grid_add', [8])).toThrow(/already running/);
      expect(lone.finish()).toBe(2.5);
      lone.start('grid_add', [2 * 65536]); // past the memory: the kernel traps in the thread
      expect(() => lone.finish()).toThrow(/failed/);
      lone.start('grid_add', [8]);
      expect(lone.finish()).toBe(2.5);
    } finally {
      await lone.close();
    }
  });

  it('is one thread per process, none when asked for one; a stopped thread fails at once', async () => {
    expect(useGridHelperThread(1)).toBe(1);
    expect(useGridHelperThread(2)).toBe(2);
    expect(useGridHelperThread(2)).toBe(2);
    await stopGridHelperThread();
    const lone = new GridHelperThread();
    await lone.close();
    expect(lone.alive).toBe(false);
    // Not after the 60 s patience: at once.
    expect(() => lone.start('grid_add', [8])).toThrow(/has stopped/);
  });

  it('once the process\u2019s thread has stopped, the next round runs on one thread with the same release', async () => {
    const rand = seededRandom(73);
    const global = model(rand, 0.2);
    const updates = Array.from({ length: 2 }, () => model(rand, 0.05, global));
    const release = (): string[] => {
      const agg = createDpAggregator({ global, z: 0.5, clipRule: { kind: 'fixed', clip: 0.3 }, random: counterFill() });
      for (const u of updates) {
        const bytes = encodeWeights(u);
        const slot = agg.uploadPlace()!.take(bytes.length)!;
        slot.set(bytes);
        agg.add(decodeWeights(slot, { copy: false }));
      }
      return bytesOf(agg.result().weights);
    };
    setGridHelper(null);
    const one = release();
    expect(useGridHelperThread(2)).toBe(2);
    expect(release()).toEqual(one);
    await stopGridHelperThread();
    expect(release()).toEqual(one);
    // And a new one can be installed after it.
    expect(useGridHelperThread(2)).toBe(2);
    expect(release()).toEqual(one);
    await stopGridHelperThread();
  });
});
