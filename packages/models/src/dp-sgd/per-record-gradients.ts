import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../types';
import { GROUP_NORM_CLASS, groupNormGroups } from '../group-norm-groups';
import { groupNormalize } from '../norm';

/**
 * The fast path of DP-SGD's per-record gradients: ONE forward and backward pass over all the
 * sampled records' slices, then each trainable layer's gradient split by record from what that
 * pass already has, the layer's input a and the gradient δ of the loss at its output:
 *   dense:  g_r(W) = Σ_{s∈r} a_sᵀ δ_s,  g_r(b) = Σ_{s∈r} δ_s       (one batched product)
 *   conv2d: g_r(K) = the filter gradient of record r's slices alone, g_r(b) = Σ δ over r's pixels
 *           (the `PerRecordConv2DBackpropFilter` kernel: @fedward/wasm-training's native loop on
 *           wasm, one Conv2DBackpropFilter per record on the other backends)
 *   conv2d transpose: the same kernel with the roles of input and output gradient swapped
 *   GroupNorm: g_r(γ) = Σ_{s∈r, pixels} δ ⊙ x̂, g_r(β) = Σ δ, with x̂ the normalised input
 *   other:  the layer alone re-run on record r's input, differentiated against δ_r (a few small
 *           layers, never the whole network).
 * The records' gradients equal those of one backward pass per record (the reference loop in
 * LayersEngine) because no layer mixes the examples of a batch (`assertPerExample`): the loss is
 * Σ_r mean_{s∈r} loss_s, so δ_s at every layer is record r's own. They are materialised per
 * record (R × model size) because each is clipped and put on the integer grid on its own: that
 * is what makes the sensitivity exact (see NoisedGradient).
 */

/** Kernel name of the per-record filter gradient (registered for 'wasm' by @fedward/wasm-training). */
export const PER_RECORD_CONV2D_FILTER_GRAD = 'FedwardPerRecordConv2DBackpropFilter';

/** Attributes of PER_RECORD_CONV2D_FILTER_GRAD: the convolution's, and the slices of each record in order. */
export interface PerRecordConv2DFilterGradAttrs {
  strides: [number, number];
  pad: 'same' | 'valid';
  filterShape: [number, number, number, number];
  counts: number[];
  [key: string]: unknown;
}

type Param = { readonly name: string; readonly variable: tf.Variable };

/** The parts of tf.layers' Dense and Conv2D the fast path reads (their public fields, untyped in TF.js' .d.ts). */
interface LinearLayer {
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { apply(x: tf.Tensor): tf.Tensor; getClassName(): string } | null;
  strides?: number[];
  padding?: string;
  dilationRate?: number[];
  dataFormat?: string;
}

/** The parts of Fedward's GroupNorm layer the fast path reads. */
interface GroupNormLayer {
  groups: number;
  epsilon: number;
}

type LinearKind = 'dense' | 'conv2d' | 'conv2dTranspose';

type Tap =
  | { kind: LinearKind; layer: tf.layers.Layer; kernel: number; bias: number | null }
  | { kind: 'groupNorm'; layer: tf.layers.Layer; gamma: number; beta: number }
  | { kind: 'generic'; layer: tf.layers.Layer; params: number[] };

/** How each trainable layer's per-record gradient is taken; null when some weight has no layer to take it from. */
export function planTaps(model: tf.LayersModel, params: readonly Param[]): Tap[] {
  const index = new Map<tf.Variable, number>(params.map((p, i) => [p.variable, i]));
  const taps: Tap[] = [];
  const covered = new Set<number>();
  for (const layer of model.layers) {
    const own = layer.trainableWeights.map((w) => {
      const i = index.get(w.read() as tf.Variable);
      if (i === undefined) throw new Error(`layer "${layer.name}" has a trainable weight the engine does not train`);
      covered.add(i);
      return i;
    });
    if (own.length === 0) continue;
    const l = layer as unknown as LinearLayer;
    const kernel = index.get(l.kernel?.read() as tf.Variable);
    const bias = l.bias ? (index.get(l.bias.read() as tf.Variable) ?? null) : null;
    const cls = layer.getClassName();
    const linear = kernel !== undefined && own.length === (bias === null ? 1 : 2);
    const plainConv = l.dataFormat === 'channelsLast' && (l.dilationRate ?? [1, 1]).every((d) => d === 1);
    const named = (suffix: string) => own.find((i) => params[i]!.name.endsWith(`/${suffix}`));
    if (cls === 'Dense' && linear) taps.push({ kind: 'dense', layer, kernel, bias });
    else if (cls === 'Conv2D' && linear && plainConv) taps.push({ kind: 'conv2d', layer, kernel, bias });
    else if (cls === 'Conv2DTranspose' && linear && plainConv) taps.push({ kind: 'conv2dTranspose', layer, kernel, bias });
    else if (cls === GROUP_NORM_CLASS && own.length === 2 && named('gamma') !== undefined && named('beta') !== undefined) {
      taps.push({ kind: 'groupNorm', layer, gamma: named('gamma')!, beta: named('beta')! });
    } else taps.push({ kind: 'generic', layer, params: own });
  }
  if (covered.size !== params.length) throw new Error('some trained weights belong to no layer of the model');
  return taps;
}

/** All the records' slices as one batch, with each slice's record and weight 1/(its record's slices). */
function concat(records: readonly Batch[]): { batch: Batch; segments: Int32Array; weights: Float32Array; counts: number[] } {
  const size = records.reduce((n, r) => n + r.size, 0);
  const area = records[0]!.x.length / records[0]!.size;
  const x = new Float32Array(size * area);
  const y = new Int32Array(size);
  const hasMask = records[0]!.mask !== undefined;
  const maskArea = hasMask ? records[0]!.mask!.length / records[0]!.size : 0;
  const mask = hasMask ? new Float32Array(size * maskArea) : undefined;
  const segments = new Int32Array(size);
  const weights = new Float32Array(size);
  let at = 0;
  records.forEach((r, ri) => {
    x.set(r.x, at * area);
    y.set(r.y, at);
    if (mask) mask.set(r.mask!, at * maskArea);
    segments.fill(ri, at, at + r.size);
    weights.fill(1 / r.size, at, at + r.size);
    at += r.size;
  });
  return { batch: mask ? { x, y, size, mask } : { x, y, size }, segments, weights, counts: records.map((r) => r.size) };
}

/**
 * Output of a dense or convolution layer before its activation (the fused kernels hide it);
 * `outShape` is the layer's output shape (a transposed convolution needs it).
 */
function preActivation(layer: tf.layers.Layer, kind: LinearKind, a: tf.Tensor, outShape: number[]): tf.Tensor {
  const l = layer as unknown as LinearLayer;
  const strides = l.strides as [number, number];
  const pad = l.padding as 'same' | 'valid';
  const kernel = l.kernel.read();
  const z =
    kind === 'dense'
      ? tf.matMul(a as tf.Tensor2D, kernel as tf.Tensor2D)
      : kind === 'conv2d'
        ? tf.conv2d(a as tf.Tensor4D, kernel as tf.Tensor4D, strides, pad)
        : tf.conv2dTranspose(a as tf.Tensor4D, kernel as tf.Tensor4D, outShape as [number, number, number, number], strides, pad);
  return l.bias ? tf.add(z, l.bias.read()) : z;
}

/** GroupNorm's normalised input x̂ (its output is x̂·γ + β). */
function normalised(layer: tf.layers.Layer, a: tf.Tensor): tf.Tensor {
  const g = layer as unknown as GroupNormLayer;
  const channels = a.shape[a.rank - 1]!;
  return groupNormalize(a, a.rank === 2 ? 1 : groupNormGroups(channels, g.groups), g.epsilon);
}

function activate(layer: tf.layers.Layer, z: tf.Tensor): tf.Tensor {
  const act = (layer as unknown as LinearLayer).activation;
  return act ? act.apply(z) : z;
}

/** Per-record filter gradients [R, kh, kw, ci, co] on any backend: the registered kernel where there is one. */
function perRecordFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: PerRecordConv2DFilterGradAttrs): tf.Tensor {
  if (tf.getKernel(PER_RECORD_CONV2D_FILTER_GRAD, tf.getBackend())) {
    return tf.engine().runKernel(PER_RECORD_CONV2D_FILTER_GRAD, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  let at = 0;
  const parts = attrs.counts.map((n) => {
    const xr = tf.slice(x, [at, 0, 0, 0], [n, -1, -1, -1]);
    const dyr = tf.slice(dy, [at, 0, 0, 0], [n, -1, -1, -1]);
    at += n;
    const grad = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xr, dy: dyr }, {
      strides: attrs.strides,
      pad: attrs.pad,
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
      filterShape: attrs.filterShape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return tf.expandDims(grad, 0);
  });
  return tf.concat(parts, 0);
}

/**
 * Sums rows [S, ...] into their records [R, ...] (a no-op when every record has one slice), as
 * the product with the [R, S] record-membership matrix: every backend has MatMul (wasm has no
 * UnsortedSegmentSum).
 */
function byRecord(t: tf.Tensor, membership: tf.Tensor2D | null): tf.Tensor {
  if (!membership) return t;
  const [S, ...rest] = t.shape;
  return tf.reshape(tf.matMul(membership, tf.reshape(t, [S!, -1])), [membership.shape[0], ...rest]);
}

export interface PerRecordResult {
  /** Per record, per trained tensor (model order), its gradient (float32 views), and its L2 norm. */
  records: { gradient: Float32Array[]; norm: number }[];
  /** Σ_r (record r's mean loss) / R. */
  loss: number;
}

/**
 * Every record's own gradient of its mean loss, from one batched pass. `trainingLossPerSlice`
 * runs the network in training mode on its input and gives one loss per slice ([S]), the layers'
 * own per-example losses included (small-cnn-vb's KL); `inputs` builds the network's input.
 */
export function perRecordGradients(
  model: tf.LayersModel,
  params: readonly Param[],
  taps: readonly Tap[],
  records: readonly Batch[],
  io: { inputs(batch: Batch): tf.Tensor; trainingLossPerSlice(x: tf.Tensor, batch: Batch): tf.Tensor1D },
): PerRecordResult {
  const R = records.length;
  if (R === 0) return { records: [], loss: Number.NaN };
  const { batch, segments, weights, counts } = concat(records);
  // Per tap: the layer's input (GroupNorm: its normalised input x̂) and call arguments.
  const captured: { a: tf.Tensor; kwargs: tf.serialization.ConfigDict }[] = new Array(taps.length);
  const tensors: tf.Tensor[] = [];
  let lossValue = Number.NaN;
  try {
    const x = io.inputs(batch);
    const w = tf.tensor1d(weights);
    // One record of several slices (a Poisson step can sample just one patient): a single row of
    // ones, since tf.oneHot refuses a depth of 1.
    const membership =
      records.length === batch.size
        ? null
        : R === 1
          ? tf.ones([1, batch.size], 'float32') as tf.Tensor2D
          : tf.tidy(() => tf.transpose(tf.oneHot(tf.tensor1d(segments, 'int32'), R).asType('float32')) as tf.Tensor2D);
    tensors.push(x, w, ...(membership ? [membership] : []));
    // Probes: zeros added at each tap's output (pre-activation for dense/conv2d, the same
    // shape), so the gradient with respect to a probe is δ there.
    const shapes = taps.map((t) => {
      const shape = t.layer.outputShape;
      if (!Array.isArray(shape) || Array.isArray(shape[0])) throw new Error(`layer "${t.layer.name}" has several outputs, which the fast path does not split`);
      return (shape as (number | null)[]).map((d, i) => (i === 0 ? batch.size : d!));
    });
    const originals = taps.map((t) => Object.getOwnPropertyDescriptor(t.layer, 'call'));
    const install = (probes: tf.Tensor[]) => {
      taps.forEach((tap, i) => {
        const original = Object.getPrototypeOf(tap.layer).call as (inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict) => tf.Tensor;
        (tap.layer as unknown as { call: unknown }).call = (inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict) => {
          const a = Array.isArray(inputs) ? inputs[0]! : inputs;
          if (tap.kind === 'groupNorm') {
            const l = tap.layer as unknown as { trainableWeights: tf.LayerVariable[] };
            const xHat = normalised(tap.layer, a);
            captured[i] = { a: tf.keep(xHat), kwargs };
            const [gamma, beta] = [l.trainableWeights.find((w) => w.read() === params[tap.gamma]!.variable)!, l.trainableWeights.find((w) => w.read() === params[tap.beta]!.variable)!];
            return tf.add(tf.add(tf.mul(xHat, gamma.read()), beta.read()), probes[i]!);
          }
          const linear = tap.kind !== 'generic';
          if (linear && a.rank !== (tap.kind === 'dense' ? 2 : 4)) throw new Error(`layer "${tap.layer.name}" got a rank-${a.rank} input the fast path does not split`);
          const out = linear ? preActivation(tap.layer, tap.kind, a, shapes[i]!) : original.call(tap.layer, inputs, kwargs);
          captured[i] = { a: tf.keep(a), kwargs };
          const probed = tf.add(out, probes[i]!);
          return linear ? activate(tap.layer, probed) : probed;
        };
      });
    };
    const restore = () =>
      taps.forEach((tap, i) => {
        const d = originals[i];
        if (d) Object.defineProperty(tap.layer, 'call', d);
        else delete (tap.layer as unknown as { call?: unknown }).call;
      });
    const weightedLoss = () => tf.sum(tf.mul(io.trainingLossPerSlice(x, batch), w)) as tf.Scalar;
    try {
      const probes = shapes.map((s) => tf.zeros(s));
      tensors.push(...probes);
      install(probes);
      const { value, grads } = tf.valueAndGrads((...p: tf.Tensor[]) => {
        void p;
        return weightedLoss();
      })(probes);
      lossValue = value.dataSync()[0]! / R;
      tensors.push(value, ...grads);
      if (captured.some((c) => c === undefined)) throw new Error('a trainable layer was not applied in the forward pass');
      for (const c of captured) tensors.push(c.a);
      return { records: split(params, taps, captured, grads, membership, counts, R), loss: lossValue };
    } finally {
      restore();
    }
  } finally {
    tf.dispose(tensors);
  }
}

/** Each tap's per-record gradients, gathered per record into float64 arrays in model order. */
function split(
  params: readonly Param[],
  taps: readonly Tap[],
  captured: readonly { a: tf.Tensor; kwargs: tf.serialization.ConfigDict }[],
  deltas: readonly tf.Tensor[],
  membership: tf.Tensor2D | null,
  counts: readonly number[],
  R: number,
): { gradient: Float32Array[]; norm: number }[] {
  // Per param, [R × size] float32 values.
  const values: (Float32Array | null)[] = params.map(() => null);
  const put = (i: number, t: tf.Tensor) => {
    values[i] = t.dataSync() as Float32Array;
  };
  taps.forEach((tap, k) => {
    tf.tidy(() => {
      const { a, kwargs } = captured[k]!;
      const d = deltas[k]!;
      if (tap.kind === 'dense') {
        const outer = tf.matMul(tf.expandDims(a, 2), tf.expandDims(d, 1));
        put(tap.kernel, byRecord(outer, membership));
        if (tap.bias !== null) put(tap.bias, byRecord(d, membership));
      } else if (tap.kind === 'conv2d' || tap.kind === 'conv2dTranspose') {
        const l = tap.layer as unknown as LinearLayer;
        const filterShape = l.kernel.read().shape as [number, number, number, number];
        const attrs: PerRecordConv2DFilterGradAttrs = { strides: l.strides as [number, number], pad: l.padding as 'same' | 'valid', filterShape, counts: [...counts] };
        // A transposed convolution is the input gradient of a convolution whose input is its
        // output: its filter gradient is that convolution's, with δ as input and a as output gradient.
        const [input, outputGrad] = tap.kind === 'conv2d' ? [a, d] : [d, a];
        put(tap.kernel, perRecordFilterGrad(input as tf.Tensor4D, outputGrad as tf.Tensor4D, attrs));
        if (tap.bias !== null) put(tap.bias, byRecord(tf.sum(d, [1, 2]), membership));
      } else if (tap.kind === 'groupNorm') {
        const axes = Array.from({ length: d.rank - 2 }, (_, k) => k + 1);
        const sum = (t: tf.Tensor) => (axes.length ? tf.sum(t, axes) : t);
        put(tap.gamma, byRecord(sum(tf.mul(d, a)), membership));
        put(tap.beta, byRecord(sum(d), membership));
      } else if (tap.kind === 'generic') {
        const vars = tap.params.map((i) => params[i]!.variable);
        const original = Object.getPrototypeOf(tap.layer).call as (inputs: tf.Tensor, kwargs: tf.serialization.ConfigDict) => tf.Tensor;
        const per = tap.params.map((i) => new Float32Array(R * params[i]!.variable.size));
        let at = 0;
        counts.forEach((n, r) => {
          const ar = tf.slice(a, at, n);
          const dr = tf.slice(d, at, n);
          at += n;
          const { grads } = tf.variableGrads(() => tf.sum(tf.mul(original.call(tap.layer, ar, kwargs), dr)) as tf.Scalar, vars);
          tap.params.forEach((i, j) => {
            const g = grads[params[i]!.variable.name];
            if (g) per[j]!.set(g.dataSync() as Float32Array, r * params[i]!.variable.size);
          });
        });
        tap.params.forEach((i, j) => (values[i] = per[j]!));
      }
    });
  });
  // Views into the float32 values (no copies: a U-Net's 16 records are 7.8 M values); the norm
  // is summed in float64 from exactly those values.
  return Array.from({ length: R }, (_, r) => {
    let squares = 0;
    const gradient = params.map((p, i) => {
      const size = p.variable.size;
      const g = values[i]!.subarray(r * size, (r + 1) * size);
      for (let k = 0; k < size; k++) squares += g[k]! * g[k]!;
      return g;
    });
    return { gradient, norm: Math.sqrt(squares) };
  });
}
