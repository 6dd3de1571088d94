/**
 * DP aggregation on the integer grid: time per update and for the noised release, and the
 * aggregator's memory as M grows (it must stay O(model), not O(M·model)).
 *
 *   npm run bench:aggregate [-- --d 10000000 --m 1,8,32 --json]
 *
 * Memory is the growth of array-buffer memory (where typed arrays live) over the level before the
 * aggregator existed, sampled with a forced GC after every add, when the caller's update is gone:
 * it counts what the aggregator keeps.
 */
import { parseArgs } from 'node:util';
import type { NamedTensor } from '@fedward/protocol';
import { createDpAggregator, type DpAggregator } from '../src/dp';

const { values: a } = parseArgs({
  options: {
    d: { type: 'string', default: '10000000' },
    m: { type: 'string', default: '1,8,32' },
    z: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
  },
});
const d = Number(a.d);
const ms = a.m!.split(',').map(Number);
const z = Number(a.z);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc (npm run bench:aggregate does)');
  process.exit(2);
}
const mib = (b: number) => b / 2 ** 20;
/** Array-buffer bytes after a GC; V8 frees large backing stores off the main thread, so let it settle. */
async function arrays(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 30));
  }
  return process.memoryUsage().arrayBuffers;
}

/** A model of d values in 4 tensors, like a real one (not one giant array). */
function model(fill: (k: number) => number): NamedTensor[] {
  const sizes = [Math.floor(d / 2), Math.floor(d / 4), Math.floor(d / 8)];
  sizes.push(d - sizes.reduce((s, x) => s + x, 0));
  let offset = 0;
  return sizes.map((n, i) => {
    const values = new Float32Array(n);
    for (let k = 0; k < n; k++) values[k] = fill(offset + k);
    offset += n;
    return { name: `layer${i}/kernel`, shape: [n], values };
  });
}

const global = model((k) => Math.sin(k) * 0.05);

/** One fresh update, added and dropped: returns the seconds add() took. */
function addOne(agg: DpAggregator, j: number): number {
  const update = model((k) => Math.sin(k) * 0.05 + 1e-4 * Math.cos(k * (j + 1)));
  const t0 = performance.now();
  agg.add(update);
  return (performance.now() - t0) / 1000;
}

async function run(m: number) {
  const before = await arrays();
  const agg = createDpAggregator({ global, z, clipRule: { kind: 'fixed', clip: 1 } });
  let kept = 0;
  let addSeconds = 0;
  for (let j = 0; j < m; j++) {
    addSeconds += addOne(agg, j);
    kept = Math.max(kept, (await arrays()) - before);
  }
  const t0 = performance.now();
  const { record } = agg.result();
  const releaseSeconds = (performance.now() - t0) / 1000;
  if (record.updates !== m) throw new Error('lost an update');
  return { m, d, addSeconds: addSeconds / m, releaseSeconds, keptMiB: mib(kept), modelMiB: mib(d * 4) };
}

const rows = [];
for (const m of ms) {
  const row = await run(m);
  if (!a.json) {
    console.log(
      `M = ${String(m).padStart(3)}: ${row.addSeconds.toFixed(3)} s per update (Δ, clip, grid, exact norm check, sum); release ${row.releaseSeconds.toFixed(2)} s (discrete Gaussian noise, decode, new weights); the aggregator holds ${row.keptMiB.toFixed(0)} MiB (the model is ${row.modelMiB.toFixed(0)} MiB as float32)`,
    );
  }
  rows.push(row);
}
if (a.json) console.log(JSON.stringify({ d, z, rows }));
else console.log(`d = ${d.toLocaleString('en')}: memory must not grow with M. The noise alone: npm run bench:privacy`);
