/**
 * Server aggregation at memory speed (issue 17): GB/s of update bytes (4·d per update, float32 as
 * on the wire) for
 *   copy        a plain copy of the same bytes (Uint8Array.set into a reused buffer): the yardstick;
 *   dp add      add() of the DP aggregator on the integer grid (fixed clip: Δ, norm, clip, grid,
 *               exact norm check, sum) of an update in JS arrays (copied into the kernels'
 *               memory block by block, one thread);
 *   dp slot     the same add() of an update already in its upload slot in the kernels' memory,
 *               as the coordinator calls it (read in place, the passes split with the helper
 *               thread when there is one: --grid-threads);
 *   plain add   add() of plain FedAvg (sample-weighted, as the coordinator runs it), and
 *   plain+res   the same with result() (the average and the new weights) counted in;
 *   path dp     the coordinator's whole per-update path: the received binary chunks (256 KiB
 *   path plain  views, as Socket.io hands them over) taken into the upload buffer, decoded, checked
 *               (names, shapes; finiteness within add) and added (server/src/update-intake.ts, the
 *               code the coordinator runs; its per-chunk bookkeeping, timers and logs are not here);
 * for every model size d and every M (updates per round), with the ratio to the copy of the same
 * repetition, the release's time, the memory the aggregator keeps and the machine load.
 *
 *   npm run bench:aggregate [-- --d 1000000,10000000 --m 10,100 --reps 3 --big-reps 1 --json]
 *
 * Only a few distinct updates exist at once (memory O(model), never O(M·model)); every add still
 * reads a whole update. "kept" is the growth of the process's resident memory over the level
 * before the aggregator existed, after a forced GC between adds (the caller's update is gone by
 * then): what the aggregator and the upload path keep, shared WebAssembly memories included (V8's
 * `external` count misses those). It must not grow with M. Each round's aggregator is new, as in the server, so the first touch of its sums is
 * counted (the grid kernels' memory is reused from the last round, as in the server); the upload
 * buffers come from one pool per model size, as the coordinator keeps one for its life, or under
 * DP from the aggregator's kernel memory, as the coordinator takes them.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { decodeWeights, encodeWeights, specOf, type NamedTensor, type TensorSpec } from '@fedward/protocol';
import { createDpAggregator, createPlainAggregator, type DpAggregator, type PlainAggregator } from '../src/dp';
import { BufferPool, UploadBuffer, acceptUpdate } from '../src/update-intake';
import { useGridHelperThread } from '../src/dp/grid-helper';

const { values: a } = parseArgs({
  options: {
    d: { type: 'string', default: '1000000,10000000' },
    m: { type: 'string', default: '10,100' },
    /** Repetitions of every measurement (interleaved), and for d ≥ 10M with M ≥ 100. */
    reps: { type: 'string', default: '3' },
    'big-reps': { type: 'string', default: '1' },
    z: { type: 'string', default: '1' },
    clip: { type: 'string', default: '0.5' },
    'chunk-bytes': { type: 'string', default: String(256 * 1024) },
    only: { type: 'string', default: 'copy,dp,dp-slot,dp-arrived,plain,path-dp,path-plain' },
    /** Threads for the DP grid's passes: 2 (the server's default on a machine with two cores) or 1. */
    'grid-threads': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
const dims = a.d!.split(',').map(Number);
const ms = a.m!.split(',').map(Number);
const z = Number(a.z);
const clip = Number(a.clip);
const chunkBytes = Number(a['chunk-bytes']);
const only = new Set(a.only!.split(','));
const gridThreads = a['grid-threads'] ? useGridHelperThread(Number(a['grid-threads'])) : useGridHelperThread();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc (npm run bench:aggregate does)');
  process.exit(2);
}
const mib = (b: number) => b / 2 ** 20;
const log = (s: string) => {
  if (!a.json) console.log(s);
};

/**
 * Resident bytes after a GC (every kind of memory: `external` misses shared WebAssembly memories).
 * V8 frees large backing stores off the main thread, so let it settle.
 */
async function resident(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().rss;
}

/** A model of d values in 4 tensors, like a real one (not one giant array). */
function model(d: number, fill: (k: number) => number): NamedTensor[] {
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

/** A few distinct updates (as tensors and as their wire bytes in chunks), reused round robin. */
const DISTINCT = 2;
interface Update {
  tensors: NamedTensor[];
  bytes: Uint8Array;
  chunks: Uint8Array[];
}
function updates(d: number): Update[] {
  return Array.from({ length: DISTINCT }, (_, j) => {
    // Δ ≈ 1e-3 per coordinate: ‖Δ‖ ≈ 0.7 at 1M, 2.2 at 10M; clipped at C = 0.5.
    const tensors = model(d, (k) => Math.sin(k) * 0.05 + 1e-3 * Math.cos(k * (j + 1) + j));
    const bytes = encodeWeights(tensors);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += chunkBytes) chunks.push(bytes.subarray(at, Math.min(bytes.length, at + chunkBytes)));
    return { tensors, bytes, chunks };
  });
}

type Kind = 'copy' | 'dp' | 'dp-slot' | 'dp-arrived' | 'plain' | 'path-dp' | 'path-plain';
interface Measured {
  /** Seconds of the M per-update steps. */
  add: number;
  /** Seconds of result() (0 for copy). */
  result: number;
  /** Kept array-buffer MiB (max over samples), or null when not sampled. */
  kept: number | null;
}

/** One repetition of one kind: M updates, timed one by one; memory sampled between adds when asked. */
async function measure(kind: Kind, d: number, m: number, pool: Update[], global: NamedTensor[], sample: boolean): Promise<Measured> {
  const before = sample ? await resident() : 0;
  const spec = specOf(global);
  const info = { samples: 100 };
  const dst = kind === 'copy' ? new Uint8Array(pool[0]!.bytes.length) : null;
  // The yardstick is memory speed: the destination's pages are touched before the clock starts.
  dst?.set(pool[0]!.bytes);
  let agg: DpAggregator | PlainAggregator | null = null;
  if (kind === 'dp' || kind === 'dp-slot' || kind === 'dp-arrived' || kind === 'path-dp') agg = createDpAggregator({ global, z, clipRule: { kind: 'fixed', clip } });
  if (kind === 'plain' || kind === 'path-plain') agg = createPlainAggregator({ global, weighting: 'samples' });
  let seconds = 0;
  let kept = 0;
  const every = Math.max(1, Math.ceil(m / 5));
  for (let j = 0; j < m; j++) {
    const u = pool[j % pool.length]!;
    // dp slot: the update put in its upload slot first, untimed (the path rows time that copy):
    // in one piece the aggregator is not told of (its norm pass then runs in add()), or chunk by
    // chunk as the coordinator puts it there (the norm pass runs as they arrive).
    const slot = kind === 'dp-slot' ? inSlot(u, agg as DpAggregator) : kind === 'dp-arrived' ? arrived(u, agg as DpAggregator) : null;
    const t0 = performance.now();
    if (kind === 'copy') dst!.set(u.bytes);
    else if (kind === 'dp' || kind === 'plain') agg!.add(u.tensors, info);
    else if (slot) agg!.add(slot.update, info);
    else receive(u, spec, agg!, uploadBuffers);
    seconds += (performance.now() - t0) / 1000;
    slot?.release();
    if (sample && (j % every === every - 1 || j === m - 1)) kept = Math.max(kept, (await resident()) - before);
  }
  let result = 0;
  if (agg) {
    const t0 = performance.now();
    const r = agg.result();
    result = (performance.now() - t0) / 1000;
    if (r.weights.length !== global.length) throw new Error('lost the model');
  }
  if (dst && dst[dst.length - 1] !== pool[(m - 1) % pool.length]!.bytes.at(-1)) throw new Error('copy went wrong');
  return { add: seconds, result, kept: sample ? mib(kept) : null };
}

/** An update's bytes in an upload slot of the aggregator's kernel memory, decoded as views there. */
function inSlot(u: Update, agg: DpAggregator): { update: NamedTensor[]; release: () => void } {
  const place = agg.uploadPlace();
  const bytes = place?.take(u.bytes.length);
  if (!place || !bytes) throw new Error('the DP aggregator lent no upload slot (WebAssembly kernels not running?)');
  bytes.set(u.bytes);
  return { update: decodeWeights(bytes, { copy: false }), release: () => place.give(bytes) };
}

/** An update's chunks put in an upload slot as the coordinator puts them (the norm taken on arrival), decoded as views there. */
function arrived(u: Update, agg: DpAggregator): { update: NamedTensor[]; release: () => void } {
  const upload = new UploadBuffer(u.bytes.length, null, agg.uploadPlace(), { samples: 100 });
  for (const chunk of u.chunks) upload.push(chunk);
  return { update: decodeWeights(upload.bytes, { copy: false }), release: () => upload.release() };
}

/** The coordinator's path for one upload (beginUpdate, addChunk × n, endUpdate: update-intake.ts). */
function receive(u: Update, spec: TensorSpec[], agg: DpAggregator | PlainAggregator, buffers: BufferPool): void {
  // Under DP the coordinator assembles the upload in the aggregator's kernel memory when it can.
  const upload = new UploadBuffer(u.bytes.length, buffers, 'uploadPlace' in agg ? agg.uploadPlace() : null, { samples: 100 });
  for (const chunk of u.chunks) upload.push(chunk);
  const accepted = acceptUpdate(upload.bytes, spec, (update) => agg.add(update, { samples: 100 }));
  if (!accepted.ok) throw new Error(accepted.message);
  upload.release();
}

const range = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs), median: [...xs].sort((p, q) => p - q)[Math.floor((xs.length - 1) / 2)]! });
const fmtRange = (xs: number[], digits: number) => {
  const r = range(xs);
  return xs.length === 1 ? r.median.toFixed(digits) : `${r.median.toFixed(digits)} (${r.min.toFixed(digits)}–${r.max.toFixed(digits)})`;
};
const load = () => loadavg().map((l) => Number(l.toFixed(2)));

const kinds = (['copy', 'dp', 'dp-slot', 'dp-arrived', 'plain', 'path-dp', 'path-plain'] as const).filter((k) => k === 'copy' || only.has(k));
const labels: Record<Kind, string> = {
  copy: 'copy of the bytes',
  dp: 'DP add(), JS arrays',
  'dp-slot': 'DP add(), in its slot',
  'dp-arrived': 'DP add(), norm on arrival',
  plain: 'plain FedAvg add()',
  'path-dp': 'path: chunks → DP add',
  'path-plain': 'path: chunks → plain add',
};
/** The coordinator keeps one pool of upload buffers for its whole life (here: one per model size). */
let uploadBuffers = new BufferPool();
const rows = [];
log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}; DP grid passes on ${gridThreads} thread${gridThreads > 1 ? 's' : ''}; GB/s of update bytes (4·d per update), median (range) over repetitions`);
for (const d of dims) {
  const global = model(d, (k) => Math.sin(k) * 0.05);
  const pool = updates(d);
  uploadBuffers = new BufferPool();
  const bytesPerUpdate = pool[0]!.bytes.length;
  for (const m of ms) {
    const reps = d >= 10_000_000 && m >= 100 ? Number(a['big-reps']) : Number(a.reps);
    const loadBefore = load();
    const runs: Record<string, Measured[]> = {};
    for (let r = 0; r < reps; r++) {
      // Interleaved: every kind once per repetition, so a busy spell hits all of them.
      for (const kind of kinds) (runs[kind] ??= []).push(await measure(kind, d, m, pool, global, r === 0 && kind !== 'copy'));
    }
    const loadAfter = load();
    const gbps = (kind: Kind, withResult = false) => runs[kind]!.map((x) => (bytesPerUpdate * m) / (x.add + (withResult ? x.result : 0)) / 1e9);
    const ratio = (kind: Kind, withResult = false) => gbps(kind, withResult).map((g, r) => g / gbps('copy')[r]!);
    const row: Record<string, unknown> = { d, m, reps, bytesPerUpdate, load: { before: loadBefore, after: loadAfter }, peakRssMiB: mib(process.resourceUsage().maxRSS * 1024) };
    log(`\nd = ${d.toLocaleString('en')} (${mib(bytesPerUpdate).toFixed(1)} MiB per update), M = ${m}, ${reps} rep${reps > 1 ? 's' : ''}; load ${loadBefore.join(' ')} → ${loadAfter.join(' ')}`);
    const line = (label: string, g: number[], q: number[] | null, extra = '') =>
      log(`  ${label.padEnd(28)} ${fmtRange(g, 3).padStart(24)} GB/s${q ? `  ${fmtRange(q, 3).padStart(24)}× copy` : ''}${extra}`);
    for (const kind of kinds) {
      const g = gbps(kind);
      const q = kind === 'copy' ? null : ratio(kind);
      const results = runs[kind]!.map((x) => x.result);
      const kept = runs[kind]![0]!.kept;
      row[kind] = { gbps: g, ratio: q, resultSeconds: kind === 'copy' ? null : results, keptMiB: kept };
      line(labels[kind], g, q, kept !== null ? `  kept ${kept.toFixed(0)} MiB` : '');
      if (kind === 'plain' || kind === 'path-plain') {
        const gr = gbps(kind, true);
        (row[kind] as Record<string, unknown>).withResult = { gbps: gr, ratio: ratio(kind, true) };
        line(`  + result() ${fmtRange(results, 3)} s`, gr, ratio(kind, true));
      }
      if (kind === 'dp') log(`  ${''.padEnd(28)} release (noise, decode, weights) ${fmtRange(results, 2)} s`);
    }
    log(`  model ${mib(d * 4).toFixed(0)} MiB as float32; process peak RSS ${mib(process.resourceUsage().maxRSS * 1024).toFixed(0)} MiB`);
    rows.push(row);
  }
}
const summary = { cpus: cpus().length, cpu: cpus()[0]?.model ?? null, node: process.version, gridThreads, z, clip, chunkBytes, rows };
if (a.json) console.log(JSON.stringify(summary));
else log('\nGoals (issue 17, at 10M): DP add() ≥ 0.5× copy (the server\'s: in its slot, norm on arrival), the whole path ≥ 0.25× copy; "kept" must not grow with M.');
