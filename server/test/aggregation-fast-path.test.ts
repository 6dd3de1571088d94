import { describe, expect, it } from 'vitest';
import { seededRandom } from '@fedward/models';
import { addOnGrid, contributionLength, encodeOnGrid, gridNormFloor, setGridKernelsMode, updateDelta } from '@fedward/privacy';
import { checkWeightsAgainst, decodeWeights, encodeWeights, specOf, type NamedTensor } from '@fedward/protocol';
import { applyStrategy, createDpAggregator, createPlainAggregator, type ClipRule, type StrategyOption } from '../src/dp';
import { BufferPool, UploadBuffer, acceptUpdate, type BufferSource } from '../src/update-intake';
import { bytesOf, counterFill, randomModel } from './aggregation-inputs';

/**
 * Issue 17's fast aggregation paths against what they replaced, bit for bit on random inputs:
 * the plain aggregator's add and result (loops instead of per-element callbacks, the average in
 * place), the DP aggregator's add (Δ never formed: GridContribution.addUpdate) against Δ from
 * updateDelta encoded, checked and summed by the separate grid functions, and the coordinator's
 * upload path (chunks into one buffer, values decoded as views) against concat + decodeWeights.
 */

const SIZES = [3, 130, 1021, 5];
const model = (rand: () => number, scale: number, around?: readonly NamedTensor[]): NamedTensor[] => randomModel(SIZES, rand, scale, around);


describe('plain aggregation, bit for bit against the replaced code', () => {
  /** The replaced add and result: per-tensor forEach, Float64Array.from and .map callbacks. */
  function reference(global: NamedTensor[], updates: { u: NamedTensor[]; samples: number; steps: number }[], o: { weighting: 'uniform' | 'samples'; strategy: StrategyOption; normBound?: number }) {
    const fednova = o.strategy === 'fednova';
    const sums = global.map((t) => new Float64Array(t.values.length));
    let weightSum = 0;
    let weightedTau = 0;
    for (const { u, samples, steps } of updates) {
      const tau = fednova ? steps : 1;
      if (o.normBound !== undefined) {
        const delta = u.map((t, i) => {
          const g = global[i]!.values;
          return Float64Array.from(t.values, (v, k) => (v - g[k]!) / tau);
        });
        let sq = 0;
        for (const t of delta) for (const v of t) sq += v * v;
        const norm = Math.sqrt(sq);
        if (norm > o.normBound) for (const t of delta) for (let k = 0; k < t.length; k++) t[k]! *= o.normBound / norm;
        delta.forEach((d, i) => {
          for (let k = 0; k < d.length; k++) sums[i]![k]! += d[k]!;
        });
        weightSum += 1;
        weightedTau += tau;
        continue;
      }
      const w = o.weighting === 'samples' ? samples : 1;
      const f = w / tau;
      u.forEach((t, i) => {
        const g = global[i]!.values;
        for (let k = 0; k < t.values.length; k++) sums[i]![k]! += (t.values[k]! - g[k]!) * f;
      });
      weightSum += w;
      weightedTau += w * tau;
    }
    const tauEff = fednova ? weightedTau / weightSum : 1;
    const combined = sums.map((sum) => sum.map((s) => s / weightSum));
    const average = combined.map((c) => c.map((v) => tauEff * v));
    const strategy = o.strategy === 'fedadam' ? ({ kind: 'fedadam', learningRate: 0.003 } as const) : ({ kind: o.strategy } as { kind: 'fedavg' | 'fednova' });
    return applyStrategy(strategy, global, average, { rounds: 0, clip: null, adam: null }).weights;
  }

  it('adds and averages exactly as before (FedAvg by samples, uniform FedNova, FedAdam, norm-bound)', () => {
    const cases: { weighting: 'uniform' | 'samples'; strategy: 'fedavg' | 'fednova' | 'fedadam'; normBound?: number }[] = [
      { weighting: 'samples', strategy: 'fedavg' },
      { weighting: 'uniform', strategy: 'fednova' },
      { weighting: 'samples', strategy: 'fedadam' },
      { weighting: 'uniform', strategy: 'fedavg', normBound: 0.3 },
    ];
    for (const [c, o] of cases.entries()) {
      const rand = seededRandom(c + 1);
      const global = model(rand, 1);
      const updates = Array.from({ length: 7 }, () => ({ u: model(rand, 0.05, global), samples: 1 + Math.floor(rand() * 300), steps: 1 + Math.floor(rand() * 9) }));
      const agg = createPlainAggregator({ global, weighting: o.weighting, strategy: o.strategy, ...(o.normBound !== undefined && { robust: { rule: 'norm-bound', normBound: o.normBound } }) });
      for (const { u, samples, steps } of updates) agg.add(u, { samples, steps });
      expect(bytesOf(agg.result().weights)).toEqual(bytesOf(reference(global, updates, o)));
    }
  });

  it('refuses a non-finite update, changing nothing', () => {
    const rand = seededRandom(3);
    const global = model(rand, 1);
    const good = model(rand, 0.05, global);
    const bad = model(rand, 0.05, global);
    bad[2]!.values[1020] = Number.NEGATIVE_INFINITY;
    const a = createPlainAggregator({ global });
    expect(() => a.add(bad)).toThrow(/not finite/);
    a.add(good);
    const b = createPlainAggregator({ global });
    b.add(good);
    expect(a.count).toBe(1);
    expect(bytesOf(a.result().weights)).toEqual(bytesOf(b.result().weights));
  });
});

describe('DP aggregation, bit for bit against Δ formed, encoded, checked and summed separately', () => {
  it('gives the same release for the fixed and quantile rules, the norm sum, FedNova and FedAdam', () => {
    const cases: { clipRule: ClipRule; strategy?: StrategyOption; normSumNoise?: number; fednova?: boolean }[] = [
      { clipRule: { kind: 'fixed', clip: 0.05 } },
      { clipRule: { kind: 'fixed', clip: 30 }, strategy: 'fedadam' },
      { clipRule: { kind: 'quantile', initialClip: 0.3, countNoise: 1 }, normSumNoise: 2 },
      { clipRule: { kind: 'fixed', clip: 0.2 }, strategy: 'fednova', fednova: true },
    ];
    for (const [c, o] of cases.entries()) {
      const rand = seededRandom(100 + c);
      const global = model(rand, 1);
      const updates = Array.from({ length: 9 }, (_, j) => ({ u: model(rand, j % 3 ? 0.05 : 0.002, global), steps: 1 + Math.floor(rand() * 5) }));
      const options = {
        global,
        z: 0.7,
        clipRule: o.clipRule,
        ...(o.strategy && { strategy: o.strategy }),
        ...(o.fednova && { publicSteps: 3 }),
        normSumNoise: o.normSumNoise ?? null,
      };
      const fast = createDpAggregator({ ...options, random: counterFill() });
      for (const { u, steps } of updates) fast.add(u, { steps });
      // The same updates the way the aggregator took them before: Δ in float64, then the grid.
      const separate = createDpAggregator({ ...options, random: counterFill() });
      const { grid, shape } = separate.contribution!;
      const sums = shape.sizes.map((n) => new Float64Array(n));
      let unclipped = 0;
      let normSum = 0;
      for (const { u, steps } of updates) {
        const { delta, norm } = updateDelta(u, global, o.fednova ? steps : 1);
        const encoded = encodeOnGrid(delta, norm, grid);
        addOnGrid(sums, encoded);
        normSum += gridNormFloor(encoded);
        if (norm <= grid.clip) unclipped += 1;
      }
      const flat = new Float64Array(contributionLength(shape));
      let at = 0;
      for (const s of sums) {
        flat.set(s, at);
        at += s.length;
      }
      if (shape.countUnclipped) flat[at++] = unclipped;
      if (shape.normSum) flat[at++] = normSum;
      separate.addSum(flat, updates.length);
      const a = fast.result();
      const b = separate.result();
      expect(bytesOf(a.weights)).toEqual(bytesOf(b.weights));
      expect(a.record).toEqual(b.record);
      expect(a.serverState).toEqual(b.serverState);
    }
  });
});

describe('the coordinator\u2019s upload path', () => {
  const rand = seededRandom(42);
  const global = model(rand, 1);
  const spec = specOf(global);
  /** The update's bytes as Socket.io hands them over: views at odd offsets into larger buffers. */
  const chunksOf = (bytes: Uint8Array, size: number) => {
    const out: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += size) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + size));
      const host = Buffer.alloc(part.length + 3, 0xee);
      host.set(part, 3);
      out.push(host.subarray(3, 3 + part.length));
    }
    return out;
  };
  const receive = (update: NamedTensor[], pool: BufferPool, add: (u: NamedTensor[]) => void, place: BufferSource | null = null) => {
    const bytes = encodeWeights(update);
    const upload = new UploadBuffer(bytes.length, pool, place);
    for (const chunk of chunksOf(bytes, 1000)) upload.push(chunk);
    const accepted = acceptUpdate(upload.bytes, spec, add);
    upload.release();
    return accepted;
  };

  it('decodes the chunks to the same values as concat + decodeWeights, reusing one buffer', () => {
    const pool = new BufferPool();
    const seen: ArrayBufferLike[] = [];
    for (let j = 0; j < 3; j++) {
      const update = model(rand, 0.05, global);
      let got: NamedTensor[] = [];
      const accepted = receive(update, pool, (u) => {
        got = u.map((t) => ({ ...t, values: t.values.slice() }));
        seen.push(u[0]!.values.buffer);
      });
      expect(accepted.ok).toBe(true);
      expect(bytesOf(got)).toEqual(bytesOf(decodeWeights(encodeWeights(update))));
    }
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).toBe(seen[0]);
  });

  it('under DP assembles uploads in the aggregator\u2019s kernel memory, read in place, with the same release', () => {
    const pool = new BufferPool();
    const updates = Array.from({ length: 7 }, (_, j) => model(rand, j % 2 ? 0.05 : 0.3, global));
    const options = { global, z: 0.7, clipRule: { kind: 'quantile', initialClip: 0.3, countNoise: 1 } as ClipRule, normSumNoise: 2 };
    const releases = [];
    for (const how of ['in place', 'pool', 'js kernels'] as const) {
      setGridKernelsMode(how === 'js kernels' ? 'js' : 'auto');
      try {
        const agg = createDpAggregator({ ...options, random: counterFill() });
        const place = how === 'in place' ? agg.uploadPlace() : null;
        for (const u of updates) {
          const seen: ArrayBufferLike[] = [];
          const accepted = receive(u, pool, (v) => (seen.push(v[0]!.values.buffer), agg.add(v)), place);
          expect(accepted.ok).toBe(true);
          // In place: the values lie in a WebAssembly memory (whole pages, the sums and θ too), not in the pool's buffers.
          const buffer = seen[0]!;
          expect(buffer.byteLength % 65536 === 0 && buffer.byteLength > encodeWeights(u).length).toBe(how === 'in place');
        }
        releases.push(agg.result());
      } finally {
        setGridKernelsMode('auto');
      }
    }
    expect(bytesOf(releases[0]!.weights)).toEqual(bytesOf(releases[1]!.weights));
    expect(bytesOf(releases[0]!.weights)).toEqual(bytesOf(releases[2]!.weights));
    expect(releases[0]!.record).toEqual(releases[1]!.record);
    expect(releases[0]!.record).toEqual(releases[2]!.record);
  });

  it('tells the aggregator that lent the buffer of every chunk as it arrives, with what add() will be told; a pool buffer tells nobody', () => {
    const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 } });
    const lent = agg.uploadPlace()!;
    const told: Array<[number, number | undefined]> = [];
    const place: BufferSource = { ...lent, arrived: (buffer, received, info) => (told.push([received, info?.steps]), lent.arrived!(buffer, received, info)) };
    const bytes = encodeWeights(global);
    const upload = new UploadBuffer(bytes.length, new BufferPool(), place, { samples: 5, steps: 3 });
    const chunks = chunksOf(bytes, 1000);
    for (const chunk of chunks) upload.push(chunk);
    expect(told).toEqual(chunks.map((_, i) => [Math.min(bytes.length, 1000 * (i + 1)), 3]));
    const all = Array.from({ length: 4 }, () => lent.take(bytes.length));
    const pooled = new UploadBuffer(bytes.length, new BufferPool(), place);
    expect(all.at(-1)).toBeNull(); // three slots left, the fourth is the upload's: the pool serves
    pooled.push(bytes);
    expect(told).toHaveLength(chunks.length);
  });

  it('hands out a buffer of its own only while it has one free, and none after the release', () => {
    const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 } });
    const place = agg.uploadPlace()!;
    const bytes = encodeWeights(global).length;
    const held = Array.from({ length: 4 }, () => place.take(bytes));
    expect(held.every((b) => b !== null && b.length === bytes)).toBe(true);
    // Every slot held: the coordinator's pool serves (the memory cannot grow under held buffers).
    expect(place.take(bytes)).toBeNull();
    const upload = new UploadBuffer(bytes, new BufferPool(), place);
    expect(upload.bytes.buffer).not.toBe(held[0]!.buffer);
    place.give(held[2]!);
    expect(place.take(bytes)!.byteOffset).toBe(held[2]!.byteOffset);
    agg.add(global);
    agg.result();
    expect(place.take(bytes)).toBeNull();
    expect(agg.uploadPlace()).toBeNull();
    expect(createDpAggregator({ global, z: 1, clipRule: { kind: 'median' } }).uploadPlace()).toBeNull();
  });

  it('names a non-finite value as the full check does, and leaves the aggregator as it was', () => {
    const pool = new BufferPool();
    const bad = model(rand, 0.05, global);
    bad[1]!.values[77] = Number.NaN;
    for (const agg of [createPlainAggregator({ global }), createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 } })]) {
      const accepted = receive(bad, pool, (u) => agg.add(u));
      expect(accepted).toEqual({ ok: false, code: 'bad-weights', message: checkWeightsAgainst(spec, bad) });
      expect(accepted.ok || accepted.message).toMatch(/t1\/kernel.*non-finite.*index 77/);
      expect(agg.count).toBe(0);
    }
  });

  it('refuses wrong names or sizes before adding, and passes on what the aggregator refuses', () => {
    const pool = new BufferPool();
    const renamed = model(rand, 0.05, global).map((t, i) => (i === 2 ? { ...t, name: 'other' } : t));
    const agg = createPlainAggregator({ global, strategy: 'fednova' });
    expect(receive(renamed, pool, (u) => agg.add(u))).toMatchObject({ ok: false, code: 'bad-weights', message: expect.stringMatching(/other/) });
    expect(receive(model(rand, 0.05, global), pool, (u) => agg.add(u))).toMatchObject({ ok: false, code: 'bad-message', message: expect.stringMatching(/FedNova/) });
    expect(agg.count).toBe(0);
    const upload = new UploadBuffer(8);
    expect(() => upload.push(new Uint8Array(9))).toThrow(/overflows/);
  });
});
