import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import {
  AttributeProto_AttributeType,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  type AttributeProtoSchema,
  type NodeProto,
  type TensorProto,
  type ValueInfoProtoSchema,
} from 'onnx-buf';
import { checkLabels, checkRound, describeExport, type ExportOptions, type ExportedModelInfo } from './export-info';
import { GROUP_NORM_EPSILON, groupNormGroups } from './group-norm-groups';
import { ONNX_IR_VERSION, ONNX_OPSET, onnxSupport } from './onnx-support';

/**
 * The federation's global model as one ONNX file (model.onnx), for runtimes outside TF.js (ONNX
 * Runtime, OpenVINO, TensorRT, …). Platform-free (no TF.js, no fs): it runs in a browser as in Node.
 *
 * The graph is written from the spec, family by family, with the same layers, in the same order,
 * as the TF.js model the hospitals train (small-cnn.ts, vgg-slim.ts, densenet.ts, unet.ts); every
 * weight is taken by its wire name and shape, and a weight left over or missing is an error, so a
 * change to a family that this file does not follow fails loudly (and its test compares ONNX
 * Runtime's outputs with TF.js's).
 *
 * Layout: input "slice" is NHWC [n, rows, columns, channels] float32, exactly what the TF.js model
 * takes (already prepared as the metadata says: the per-slice z-score, where the study uses it, is
 * done before the model, not inside it, in TF.js as here). The graph transposes it to NCHW, which
 * ONNX's Conv and pools want, with kernels transposed to match; every family ends in a global pool
 * (no flatten of a feature map), so the dense layers' weights line up as they are. Output "logits"
 * has the TF.js model's shape and layout: [n, classes], or [n, rows, columns, 1] for the U-Net.
 *
 * Encoding: ONNX's own onnx.proto, compiled by protoc-gen-es (npm onnx-buf), written by
 * @bufbuild/protobuf. Both are plain ES modules with no code generation at run time (no eval, so
 * the apps' Content-Security-Policy allows them) and no Node-only imports.
 */

export type OnnxExportOptions = ExportOptions;

/**
 * The metadata_props key of the whole description (ExportedModelInfo as JSON, as model.json's
 * userDefinedMetadata.fedward); round, kind, normalization, preprocessing, input_layout,
 * output_meaning and labels (when known) are also written as keys of their own.
 */
export const ONNX_METADATA_KEY = 'fedward';

/** Input and output names of the graph. */
export const ONNX_INPUT = 'slice';
export const ONNX_OUTPUT = 'logits';

/**
 * Builds model.onnx for `spec` with the given global weights (in the wire order of
 * ModelEngine.getWeights; names and shapes are checked). Throws for a family that onnxSupport
 * says cannot be exported, and when a weight does not fit.
 */
export function exportOnnx(spec: ModelSpec, weights: readonly NamedTensor[], meta: OnnxExportOptions): Uint8Array {
  checkRound(meta.round);
  const labels = checkLabels(spec, meta.labels);
  const support = onnxSupport(spec);
  if (!support.supported) throw new Error(support.reason);
  const g = new GraphBuilder(weights);
  const x = g.op('Transpose', [ONNX_INPUT], [ints('perm', [0, 3, 1, 2])], 'slice_nchw');
  let out: string;
  let outputDims: (number | string)[];
  let batchDependent = false;
  switch (spec.kind) {
    case 'small-cnn':
      out = smallCnn(g, spec, x);
      outputDims = ['N', spec.numClasses];
      break;
    case 'vgg-slim':
      out = vggSlim(g, spec, x);
      outputDims = ['N', spec.numClasses];
      break;
    case 'densenet':
      out = denseNet(g, spec, x);
      outputDims = ['N', spec.numClasses];
      batchDependent = spec.norm !== 'group';
      break;
    case 'unet':
      out = uNet(g, spec, x);
      outputDims = ['N', spec.inputSize, spec.inputSize, 1];
      batchDependent = spec.norm !== 'group';
      break;
    case 'small-cnn-vb':
      // Unreachable: onnxSupport refuses it above (the switch names every kind, so a new one fails to compile here).
      throw new Error(support.reason);
  }
  g.finish();
  const used = [...g.ops].sort();
  if (used.join() !== support.ops.join()) throw new Error(`the ${spec.kind} graph uses ${used.join(', ')}, onnxSupport lists ${support.ops.join(', ')}`);

  const info: ExportedModelInfo = describeExport(spec, meta.round, labels, { format: 'onnx', batchDependent });
  const metadata: Record<string, string> = {
    [ONNX_METADATA_KEY]: JSON.stringify(info),
    round: String(meta.round),
    kind: spec.kind,
    normalization: info.input.normalization,
    preprocessing: info.input.preprocessing,
    input_layout: `${ONNX_INPUT}: NHWC [n, ${spec.inputSize}, ${spec.inputSize}, ${spec.channels}] float32`,
    output_meaning: info.output.meaning,
  };
  if (labels) metadata['labels'] = JSON.stringify(labels);

  const model = create(ModelProtoSchema, {
    irVersion: BigInt(ONNX_IR_VERSION),
    opsetImport: [{ domain: '', version: BigInt(ONNX_OPSET) }],
    producerName: 'Fedward',
    producerVersion: '@fedward/models exportOnnx 1',
    domain: 'org.fedward',
    modelVersion: BigInt(meta.round),
    docString: `Fedward ${spec.kind}, global weights of round ${meta.round}. Input "${ONNX_INPUT}": ${info.input.preprocessing} Output "${ONNX_OUTPUT}": ${info.output.meaning}`,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.kind.replace(/-/g, '_'),
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT, ['N', spec.inputSize, spec.inputSize, spec.channels])],
      output: [valueInfo(ONNX_OUTPUT, outputDims)],
    },
  });
  // The last node writes the graph's output.
  const last = g.nodes[g.nodes.length - 1];
  if (!last || last.output[0] !== out || out !== ONNX_OUTPUT) throw new Error(`the ${spec.kind} graph does not end in "${ONNX_OUTPUT}"`);
  return toBinary(ModelProtoSchema, model);
}

/** What `readOnnx` finds in an ONNX file: enough to check an export without a runtime. */
export interface OnnxSummary {
  irVersion: number;
  /** Operator set per domain ('' is ONNX's default domain). */
  opsets: { domain: string; version: number }[];
  inputs: string[];
  outputs: string[];
  /** The operator types of the graph's nodes, sorted, each once. */
  ops: string[];
  /** The initializers' names (the model's weights, and a few constants). */
  initializers: string[];
  /** metadata_props as a record. */
  metadata: Record<string, string>;
  /** metadata_props "fedward", parsed; null when absent. */
  info: ExportedModelInfo | null;
}

/** Parses an ONNX ModelProto (ONNX's own schema): throws when the bytes are not one. */
export function readOnnx(bytes: Uint8Array): OnnxSummary {
  const model = fromBinary(ModelProtoSchema, bytes);
  if (!model.graph) throw new Error('not an ONNX model: no graph');
  const metadata = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  const info = metadata[ONNX_METADATA_KEY];
  return {
    irVersion: Number(model.irVersion),
    opsets: model.opsetImport.map((o) => ({ domain: o.domain, version: Number(o.version) })),
    inputs: model.graph.input.map((v) => v.name),
    outputs: model.graph.output.map((v) => v.name),
    ops: [...new Set(model.graph.node.map((n) => n.opType))].sort(),
    initializers: model.graph.initializer.map((t) => t.name),
    metadata,
    info: info === undefined ? null : (JSON.parse(info) as ExportedModelInfo),
  };
}

// ---------------------------------------------------------------------------------------------
// The families. Sizes are tracked as the TF.js layers compute them (square inputs).

interface Fmap {
  name: string;
  size: number;
  channels: number;
}

/** conv1 (3×3×8 same, relu) → pool1 → conv2 (3×3×16 same, relu) → pool2 → global max pool → logits. */
function smallCnn(g: GraphBuilder, spec: ModelSpec, input: string): string {
  let x: Fmap = { name: input, size: spec.inputSize, channels: spec.channels };
  x = relu(g, conv(g, x, 'conv1', { filters: 8, kernel: 3, padding: 'same', bias: true }));
  x = maxPool(g, x, 2, 2);
  x = relu(g, conv(g, x, 'conv2', { filters: 16, kernel: 3, padding: 'same', bias: true }));
  x = maxPool(g, x, 2, 2);
  const pooled = g.op('Flatten', [g.op('GlobalMaxPool', [x.name])], [int('axis', 1)]);
  return dense(g, pooled, 'logits', x.channels, spec.numClasses, true, ONNX_OUTPUT);
}

const VGG_SLIM_WIDTH = 8;
const VGG_BN_EPSILON = 1e-5;

/**
 * vgg-slim.ts: blocks of [conv (no bias) → BatchNorm (moving statistics) → relu] then max pool; gap → linear1 → bn_fc1 → relu → linear2.
 * With norm 'group' the norms are GroupNorms, bn_fc1 a LayerNorm over the hidden features.
 */
function vggSlim(g: GraphBuilder, spec: ModelSpec, input: string): string {
  const group = spec.norm === 'group';
  const w = spec.width ?? VGG_SLIM_WIDTH;
  const blocks = [[w, w], [2 * w, 2 * w], [4 * w, 4 * w]];
  const hidden = 2 * w;
  if (spec.inputSize < 2 ** blocks.length) throw new Error(`vgg-slim needs an input of at least ${2 ** blocks.length} px (got ${spec.inputSize})`);
  let x: Fmap = { name: input, size: spec.inputSize, channels: spec.channels };
  blocks.forEach((convs, b) => {
    convs.forEach((filters, c) => {
      const id = `${b + 1}_${c + 1}`;
      x = conv(g, x, `conv${id}`, { filters, kernel: 3, padding: 'same', bias: false });
      x = group ? groupNorm(g, x, `bn${id}`) : { ...x, name: batchNorm(g, x.name, `bn${id}`, filters) };
      x = relu(g, x);
    });
    x = maxPool(g, x, 2, 2);
  });
  let h = g.op('Flatten', [g.op('GlobalAveragePool', [x.name])], [int('axis', 1)]);
  h = dense(g, h, 'linear1', x.channels, hidden, false);
  h = g.op('Relu', [group ? layerNorm(g, h, 'bn_fc1', hidden) : batchNorm(g, h, 'bn_fc1', hidden)]);
  return dense(g, h, 'linear2', hidden, spec.numClasses, false, ONNX_OUTPUT);
}

const DENSENET_BLOCKS = [2, 4, 8, 6];
const DENSENET_GROWTH = 12;
const DENSENET_BN_SIZE = 4;

/**
 * densenet.ts: pad0 (3) → conv0 (7×7/2 valid) → norm0 → relu0 → pad_pool0 (1) → pool0 (max 3/2)
 * → blocks (norm → relu → 1×1 → norm → relu → 3×3, concatenated) with pad1 (2) after block 1 and
 * transitions (norm → relu → 1×1 → avg pool 2/2) between → norm5 → relu5 → gap → classifier.
 * Norms: batch-statistics norms, or GroupNorms (with their γ/β) for norm 'group'.
 */
function denseNet(g: GraphBuilder, spec: ModelSpec, input: string): string {
  const growth = spec.width ?? DENSENET_GROWTH;
  const norm = (x: Fmap, name: string): Fmap => (spec.norm === 'group' ? groupNorm(g, x, name) : batchStatNorm(g, x));
  let x: Fmap = pad(g, { name: input, size: spec.inputSize, channels: spec.channels }, 3);
  x = conv(g, x, 'conv0', { filters: 2 * growth, kernel: 7, stride: 2, padding: 'valid', bias: false });
  x = relu(g, norm(x, 'norm0'));
  x = maxPool(g, pad(g, x, 1), 3, 2);
  if (x.size < 1) throw new Error(`densenet needs a larger input (got ${spec.inputSize} px)`);
  DENSENET_BLOCKS.forEach((layers, b) => {
    for (let l = 1; l <= layers; l++) {
      const p = `block${b + 1}/layer${l}/`;
      let h = relu(g, norm(x, `${p}norm1`));
      h = conv(g, h, `${p}conv1`, { filters: DENSENET_BN_SIZE * growth, kernel: 1, padding: 'same', bias: false });
      h = relu(g, norm(h, `${p}norm2`));
      h = conv(g, h, `${p}conv2`, { filters: growth, kernel: 3, padding: 'same', bias: false });
      x = { name: g.op('Concat', [x.name, h.name], [int('axis', 1)]), size: x.size, channels: x.channels + growth };
    }
    if (b === 0) x = pad(g, x, 2);
    if (b < DENSENET_BLOCKS.length - 1) {
      const p = `transition${b + 1}/`;
      x = conv(g, relu(g, norm(x, `${p}norm`)), `${p}conv`, { filters: Math.floor(x.channels / 2), kernel: 1, padding: 'same', bias: false });
      x = pool(g, 'AveragePool', x, 2, 2);
    }
  });
  if (x.size < 1) throw new Error(`densenet needs a larger input: ${spec.inputSize} px shrinks to nothing (use 16 px or more)`);
  x = relu(g, norm(x, 'norm5'));
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [x.name])], [int('axis', 1)]);
  return dense(g, pooled, 'classifier', x.channels, spec.numClasses, true, ONNX_OUTPUT);
}

const UNET_FEATURES = 8;

/**
 * unet.ts: enc1..enc4 (double block, then max pool 2/2), bottleneck, then per level upK
 * (transposed conv 2×2/2 with bias) → concat [up, skip] → decK; final 1×1 conv with bias, back to NHWC.
 */
function uNet(g: GraphBuilder, spec: ModelSpec, input: string): string {
  const f = spec.width ?? UNET_FEATURES;
  if (spec.inputSize % 16 !== 0) throw new Error(`unet needs an input size divisible by 16 (got ${spec.inputSize})`);
  const double = (x: Fmap, block: string, filters: number): Fmap => {
    for (const k of [1, 2]) {
      const h = conv(g, x, `${block}/conv${k}`, { filters, kernel: 3, padding: 'same', bias: false });
      x = relu(g, spec.norm === 'group' ? groupNorm(g, h, `${block}/norm${k}`) : batchStatNorm(g, h));
    }
    return x;
  };
  const skips: Fmap[] = [];
  let x: Fmap = { name: input, size: spec.inputSize, channels: spec.channels };
  for (let k = 1; k <= 4; k++) {
    x = double(x, `enc${k}`, f * 2 ** (k - 1));
    skips.push(x);
    x = maxPool(g, x, 2, 2);
  }
  x = double(x, 'bottleneck', 16 * f);
  for (let k = 4; k >= 1; k--) {
    const filters = f * 2 ** (k - 1);
    const kernel = g.weight(`up${k}/kernel`, [2, 2, filters, x.channels], [3, 2, 0, 1]);
    const bias = g.weight(`up${k}/bias`, [filters]);
    const up = g.op('ConvTranspose', [x.name, kernel, bias], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])]);
    const skip = skips[k - 1]!;
    x = { name: g.op('Concat', [up, skip.name], [int('axis', 1)]), size: 2 * x.size, channels: filters + skip.channels };
    x = double(x, `dec${k}`, filters);
  }
  const logits = conv(g, x, 'final', { filters: 1, kernel: 1, padding: 'same', bias: true });
  return g.op('Transpose', [logits.name], [ints('perm', [0, 2, 3, 1])], ONNX_OUTPUT);
}

// ---------------------------------------------------------------------------------------------
// Layers as ONNX nodes (NCHW).

/** TF.js conv2d: kernel [kh, kw, in, out] → ONNX W [out, in, kh, kw]; 'same' padded as TF pads (extra row/column after). */
function conv(
  g: GraphBuilder,
  x: Fmap,
  name: string,
  o: { filters: number; kernel: number; stride?: number; padding: 'same' | 'valid'; bias: boolean },
): Fmap {
  const stride = o.stride ?? 1;
  const k = o.kernel;
  const inputs = [x.name, g.weight(`${name}/kernel`, [k, k, x.channels, o.filters], [3, 2, 0, 1])];
  if (o.bias) inputs.push(g.weight(`${name}/bias`, [o.filters]));
  let size: number;
  let before = 0;
  let after = 0;
  if (o.padding === 'same') {
    size = Math.ceil(x.size / stride);
    const total = Math.max((size - 1) * stride + k - x.size, 0);
    before = Math.floor(total / 2);
    after = total - before;
  } else {
    size = Math.floor((x.size - k) / stride) + 1;
  }
  const attrs = [ints('kernel_shape', [k, k]), ints('strides', [stride, stride]), ints('pads', [before, before, after, after])];
  return { name: g.op('Conv', inputs, attrs), size, channels: o.filters };
}

function relu(g: GraphBuilder, x: Fmap): Fmap {
  return { ...x, name: g.op('Relu', [x.name]) };
}

/** TF.js pooling with padding 'valid' (the only kind the families use): floor((size − k) / stride) + 1. */
function pool(g: GraphBuilder, op: 'MaxPool' | 'AveragePool', x: Fmap, k: number, stride: number): Fmap {
  const name = g.op(op, [x.name], [ints('kernel_shape', [k, k]), ints('strides', [stride, stride])]);
  return { name, size: Math.floor((x.size - k) / stride) + 1, channels: x.channels };
}

const maxPool = (g: GraphBuilder, x: Fmap, k: number, stride: number): Fmap => pool(g, 'MaxPool', x, k, stride);

/** zeroPadding2d(p): zeros around rows and columns (a Pad node, since the zeros also enter the norms' statistics). */
function pad(g: GraphBuilder, x: Fmap, p: number): Fmap {
  const pads = g.constant(`pads_${p}`, [8], BigInt64Array.from([0, 0, p, p, 0, 0, p, p].map(BigInt)));
  return { name: g.op('Pad', [x.name, pads]), size: x.size + 2 * p, channels: x.channels };
}

/** TF.js dense: kernel [in, out] as ONNX wants it for x · W; Gemm with a bias, MatMul without. */
function dense(g: GraphBuilder, x: string, name: string, units: number, out: number, bias: boolean, output?: string): string {
  const kernel = g.weight(`${name}/kernel`, [units, out]);
  if (!bias) return g.op('MatMul', [x, kernel], [], output);
  return g.op('Gemm', [x, kernel, g.weight(`${name}/bias`, [out])], [], output);
}

/** TF.js batchNormalization in inference: (x − moving_mean) / sqrt(moving_variance + ε) · γ + β, per channel (axis 1 in NCHW, or [n, c]). */
function batchNorm(g: GraphBuilder, x: string, name: string, channels: number): string {
  const w = (role: string) => g.weight(`${name}/${role}`, [channels]);
  return g.op('BatchNormalization', [x, w('gamma'), w('beta'), w('moving_mean'), w('moving_variance')], [float('epsilon', VGG_BN_EPSILON)]);
}

const BATCH_STAT_NORM_EPSILON = 1e-5;

/**
 * norm.ts's BatchStatNorm: per channel, (x − mean) / sqrt(var + 1e-5) with the mean and the biased
 * variance over the batch, rows and columns, the statistics of the batch it is given (so a slice's
 * output depends on its batch, in ONNX as in TF.js). ONNX's BatchNormalization only uses given
 * statistics at inference, so the norm is written out as the ops TF.js's tf.moments + batchNorm compute.
 */
function batchStatNorm(g: GraphBuilder, x: Fmap): Fmap {
  const axes = [ints('axes', [0, 2, 3]), int('keepdims', 1)];
  const mean = g.op('ReduceMean', [x.name], axes);
  const centred = g.op('Sub', [x.name, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], axes);
  const eps = g.constant('batch_stat_norm_epsilon', [], Float32Array.of(BATCH_STAT_NORM_EPSILON));
  const std = g.op('Sqrt', [g.op('Add', [variance, eps])]);
  return { ...x, name: g.op('Div', [centred, std]) };
}

/** (x − mean) / sqrt(var + 1e-5) over `axis` of x, per example (biased variance), as the GroupNorm layer computes it. */
function normalizeOver(g: GraphBuilder, x: string, axis: number): string {
  const axes = [ints('axes', [axis]), int('keepdims', 1)];
  const centred = g.op('Sub', [x, g.op('ReduceMean', [x], axes)]);
  const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], axes);
  const eps = g.constant('group_norm_epsilon', [], Float32Array.of(GROUP_NORM_EPSILON));
  return g.op('Div', [centred, g.op('Sqrt', [g.op('Add', [variance, eps])])]);
}

/**
 * norm.ts's GroupNorm on NCHW: channels in groupNormGroups(C) contiguous groups, each example's
 * group normalised over its channels, rows and columns (Reshape to [n, G, C/G·H·W], normalise the
 * last axis, Reshape back), then · γ + β per channel. Opset 13 has no GroupNormalization.
 */
function groupNorm(g: GraphBuilder, x: Fmap, name: string): Fmap {
  const groups = groupNormGroups(x.channels);
  const grouped = g.constant(`group_norm_shape_g${groups}`, [3], BigInt64Array.from([0n, BigInt(groups), -1n]));
  const back = g.constant(`group_norm_shape_c${x.channels}_s${x.size}`, [4], BigInt64Array.from([0, x.channels, x.size, x.size].map(BigInt)));
  const y = g.op('Reshape', [normalizeOver(g, g.op('Reshape', [x.name, grouped]), 2), back]);
  const gamma = g.weight(`${name}/gamma`, [x.channels], undefined, [x.channels, 1, 1]);
  const beta = g.weight(`${name}/beta`, [x.channels], undefined, [x.channels, 1, 1]);
  return { ...x, name: g.op('Add', [g.op('Mul', [y, gamma]), beta]) };
}

/** GroupNorm on a rank-2 [n, C] input (vgg-slim's bn_fc1): one group, a LayerNorm over the features, · γ + β. */
function layerNorm(g: GraphBuilder, x: string, name: string, channels: number): string {
  const y = normalizeOver(g, x, 1);
  return g.op('Add', [g.op('Mul', [y, g.weight(`${name}/gamma`, [channels])]), g.weight(`${name}/beta`, [channels])]);
}

// ---------------------------------------------------------------------------------------------
// Graph, attributes, tensors.

type Attribute = MessageInitShape<typeof AttributeProtoSchema>;

const int = (name: string, value: number): Attribute => ({ name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
const ints = (name: string, values: number[]): Attribute => ({ name, type: AttributeProto_AttributeType.INTS, ints: values.map(BigInt) });
const float = (name: string, value: number): Attribute => ({ name, type: AttributeProto_AttributeType.FLOAT, f: value });

function valueInfo(name: string, dims: (number | string)[]): MessageInitShape<typeof ValueInfoProtoSchema> {
  return {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType: TensorProto_DataType.FLOAT,
          shape: {
            dim: dims.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } })),
          },
        },
      },
    },
  };
}

class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** The operator types used so far. */
  readonly ops = new Set<string>();
  private readonly byName = new Map<string, NamedTensor>();
  private readonly taken = new Set<string>();
  private readonly constants = new Set<string>();
  private count = 0;

  constructor(weights: readonly NamedTensor[]) {
    for (const w of weights) {
      if (this.byName.has(w.name)) throw new Error(`weight "${w.name}" is given twice`);
      this.byName.set(w.name, w);
    }
  }

  /** Adds a node; returns its (only) output's name: `output`, or a fresh one. */
  op(opType: string, inputs: string[], attributes: Attribute[] = [], output?: string): string {
    const name = `${opType}_${++this.count}`;
    const out = output ?? `${name.toLowerCase()}_out`;
    this.ops.add(opType);
    this.nodes.push(create(NodeProtoSchema, { name, opType, input: inputs, output: [out], attribute: attributes }));
    return out;
  }

  /**
   * The model weight `name` as an initializer, checked against the shape TF.js gives it
   * (`shape`), its values transposed by `perm` (output axis i = input axis perm[i]), stored with
   * `dims` when given (the same values in another shape of the same size, e.g. γ [C] as [C, 1, 1]
   * to broadcast over NCHW).
   */
  weight(name: string, shape: number[], perm?: number[], dims?: number[]): string {
    const w = this.byName.get(name);
    if (!w) throw new Error(`weight "${name}" is missing`);
    if (this.taken.has(name)) throw new Error(`weight "${name}" is used twice`);
    if (w.shape.join() !== shape.join()) throw new Error(`weight "${name}" has shape [${w.shape.join(', ')}], the graph needs [${shape.join(', ')}]`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (w.values.length !== size) throw new Error(`weight "${name}" has ${w.values.length} values for shape [${shape.join(', ')}]`);
    this.taken.add(name);
    const [values, permuted] = perm ? transpose(w.values, shape, perm) : [w.values, shape];
    if (dims && dims.reduce((a, b) => a * b, 1) !== size) throw new Error(`weight "${name}" cannot be stored as [${dims.join(', ')}]`);
    this.initializers.push(tensor(name, dims ?? permuted, values));
    return name;
  }

  /** A constant initializer (float32 or int64), added once per name. */
  constant(name: string, dims: number[], values: Float32Array | BigInt64Array): string {
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.initializers.push(tensor(name, dims, values));
    }
    return name;
  }

  /** Throws if a given weight was not used: the graph and the weights disagree on the model. */
  finish(): void {
    const unused = [...this.byName.keys()].filter((n) => !this.taken.has(n));
    if (unused.length) throw new Error(`weights not in the graph: ${unused.join(', ')}`);
  }
}

/** A TensorProto with little-endian raw_data (float32 or int64). */
function tensor(name: string, dims: number[], values: Float32Array | BigInt64Array): TensorProto {
  const float32 = values instanceof Float32Array;
  const bytes = new Uint8Array(values.length * (float32 ? 4 : 8));
  const view = new DataView(bytes.buffer);
  if (float32) values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  else values.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return create(TensorProtoSchema, {
    name,
    dims: dims.map(BigInt),
    dataType: float32 ? TensorProto_DataType.FLOAT : TensorProto_DataType.INT64,
    rawData: bytes,
  });
}

/** Transposes a row-major tensor: output axis i is input axis perm[i]. */
function transpose(values: Float32Array, shape: number[], perm: number[]): [Float32Array, number[]] {
  const rank = shape.length;
  const dims = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * shape[i + 1]!;
  const stride = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(values.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += index[i]! * stride[i]!;
    out[o] = values[src]!;
    for (let i = rank - 1; i >= 0; i--) {
      index[i]! += 1;
      if (index[i]! < dims[i]!) break;
      index[i] = 0;
    }
  }
  return [out, dims];
}
