import type { ModelSpec } from '@fedward/protocol';

/**
 * Which model families export to ONNX (export-onnx.ts) and with which operators, or which of
 * their operations has no clean ONNX equivalent. Kept apart from the exporter and from TF.js so
 * the apps can say what is offered without bundling either.
 */

/** The ONNX operator set the export writes (default domain), and the IR version that goes with it (ONNX 1.8). */
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

/** The one ONNX file of an export. */
export const ONNX_FILE = 'model.onnx';

export type OnnxSupport =
  | {
      supported: true;
      kind: ModelSpec['kind'];
      opset: number;
      /** The ONNX operators its graph uses (default domain), sorted. */
      ops: string[];
      /** One sentence for a person: what the file holds. */
      reason: string;
    }
  | {
      supported: false;
      kind: ModelSpec['kind'];
      /** The model's operations that block the export (TF.js layer or op names). */
      blockingOps: string[];
      /** One sentence for a person: what blocks it and what to download instead. */
      reason: string;
    };

/**
 * The operators of each family's graph (export-onnx.ts builds exactly these; its test checks the
 * list against the file). A family missing here, or given `blocking`, is not exported.
 */
const FAMILIES: Record<ModelSpec['kind'], { ops: readonly string[] } | { blocking: readonly string[]; why: string }> = {
  // conv 3×3 same + relu, max pool 2/2, global max pool, dense.
  'small-cnn': { ops: ['Conv', 'Flatten', 'Gemm', 'GlobalMaxPool', 'MaxPool', 'Relu', 'Transpose'] },
  // conv (no bias) → BatchNorm with moving statistics → relu, max pool, global average pool, dense (no bias), BatchNorm1d.
  'vgg-slim': { ops: ['BatchNormalization', 'Conv', 'Flatten', 'GlobalAveragePool', 'MatMul', 'MaxPool', 'Relu', 'Transpose'] },
  // zero padding, convs, batch-statistics norms written out as ops, max and average pools, concat, dense.
  densenet: {
    ops: ['Add', 'AveragePool', 'Concat', 'Conv', 'Div', 'Flatten', 'Gemm', 'GlobalAveragePool', 'MaxPool', 'Mul', 'Pad', 'ReduceMean', 'Relu', 'Sqrt', 'Sub', 'Transpose'],
  },
  // convs, batch-statistics norms written out as ops, max pool, transposed conv, concat.
  unet: { ops: ['Add', 'Concat', 'Conv', 'ConvTranspose', 'Div', 'MaxPool', 'Mul', 'ReduceMean', 'Relu', 'Sqrt', 'Sub', 'Transpose'] },
  // Its inference path (μ through the decoder) is plain Gemm/Slice, but the exporter does not write it yet.
  'small-cnn-vb': {
    blocking: ['FedwardVariationalSample'],
    why: 'its variational bottleneck (PRECODE) is not written by the ONNX exporter yet.',
  },
};

/**
 * The GroupNorm variants (spec.norm 'group'): each GroupNorm written out as Reshape to
 * [n, groups, rest] → ReduceMean, Sub, Mul, ReduceMean, Add, Sqrt, Div → Reshape back → Mul γ, Add β
 * (opset 13 has no GroupNormalization); vgg-slim's bn_fc1 (rank 2) the same without the Reshapes.
 */
type NormFamily = Exclude<ModelSpec['kind'], 'small-cnn' | 'small-cnn-vb'>;
const GROUP_NORM_FAMILIES: Record<NormFamily, { ops: readonly string[] }> = {
  'vgg-slim': { ops: ['Add', 'Conv', 'Div', 'Flatten', 'GlobalAveragePool', 'MatMul', 'MaxPool', 'Mul', 'ReduceMean', 'Relu', 'Reshape', 'Sqrt', 'Sub', 'Transpose'] },
  densenet: {
    ops: ['Add', 'AveragePool', 'Concat', 'Conv', 'Div', 'Flatten', 'Gemm', 'GlobalAveragePool', 'MaxPool', 'Mul', 'Pad', 'ReduceMean', 'Relu', 'Reshape', 'Sqrt', 'Sub', 'Transpose'],
  },
  unet: { ops: ['Add', 'Concat', 'Conv', 'ConvTranspose', 'Div', 'MaxPool', 'Mul', 'ReduceMean', 'Relu', 'Reshape', 'Sqrt', 'Sub', 'Transpose'] },
};

/** Whether `spec`'s family (and norm, where it has one) exports to ONNX: its operators, or the operation(s) that block it. */
export function onnxSupport(spec: ModelSpec | { kind: ModelSpec['kind']; norm?: ModelSpec['norm'] }): OnnxSupport {
  const group = spec.norm === 'group' && spec.kind !== 'small-cnn' && spec.kind !== 'small-cnn-vb';
  const family = group ? GROUP_NORM_FAMILIES[spec.kind as NormFamily] : FAMILIES[spec.kind];
  if ('ops' in family) {
    return {
      supported: true,
      kind: spec.kind,
      opset: ONNX_OPSET,
      ops: [...family.ops],
      reason: `ONNX export of ${spec.kind}${group ? ' (GroupNorm)' : ''}: ${ONNX_FILE}, opset ${ONNX_OPSET}, standard operators only (${family.ops.join(', ')}).`,
    };
  }
  return {
    supported: false,
    kind: spec.kind,
    blockingOps: [...family.blocking],
    reason: `No ONNX export for ${spec.kind}: ${family.why} Download the TF.js model (model.json + weights.bin) instead.`,
  };
}
