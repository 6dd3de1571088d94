import type { ModelSpec } from '@fedward/protocol';
import { GROUP_NORM_CLASS, GROUP_NORM_MAX_GROUPS } from './group-norm-groups';
import { VARIATIONAL_SAMPLE_CLASS } from './variational-bottleneck';

/**
 * What an exported model file says about itself: the same description goes into TF.js's
 * model.json (`userDefinedMetadata.fedward`) and into an ONNX file's metadata_props ("fedward").
 * No TF.js here, so the ONNX export (and what the apps import to say what is offered) stay free of it.
 */

/** How to reproduce the federation's predictions with the exported model. */
export interface ExportedModelInfo {
  /** Which file it describes: TF.js Layers (model.json + weights.bin) or ONNX (model.onnx). */
  format: 'fedward.layers-export' | 'fedward.onnx-export';
  version: 1;
  spec: ModelSpec;
  /** The round whose global weights these are. */
  round: number;
  /** Class names in output order (class k = labels[k]); U-Net: the foreground's name. Null when not known. */
  labels: string[] | null;
  input: {
    /** [n, inputSize, inputSize, channels]: n slices, rows, columns, channels (NHWC), float32. */
    shape: [null, number, number, number];
    layout: 'NHWC';
    dtype: 'float32';
    normalization: 'unit' | 'zscore';
    /** The preprocessing in plain words, enough to reproduce it. */
    preprocessing: string;
  };
  output: {
    shape: (number | null)[];
    /** What the numbers are and how to turn them into probabilities. */
    meaning: string;
  };
  /**
   * Layer classes that are not part of TF.js and must be registered before `tf.loadLayersModel`
   * (`tf.serialization.registerClass`); importing @fedward/models registers them. Empty: plain TF.js
   * loads it. Always empty for ONNX (only standard ONNX operators).
   */
  customLayers: string[];
  /**
   * True when a slice's output depends on the other slices of its batch (DenseNet and U-Net
   * normalise with the batch's own statistics, as the hospitals train and evaluate them).
   */
  batchDependent: boolean;
  notes: string[];
}

/** Round and labels of an export (TF.js or ONNX). */
export interface ExportOptions {
  /** The round whose global weights are exported. */
  round: number;
  /** Class names in the order of the model's outputs, when the study knows them. */
  labels?: readonly string[];
}

/** Class name of the batch-statistics norm layer (norm.ts's BatchStatNorm.className, without importing TF.js). */
export const BATCH_STAT_NORM_CLASS = 'FedwardBatchStatNorm';
export { GROUP_NORM_CLASS } from './group-norm-groups';

/** The default the hospital app applies when the spec says nothing (apps/hospital's federation worker). */
const DEFAULT_NORMALIZATION = 'zscore';

/** What the hospital app does to a slice before the model sees it (packages/data: import, then read time). */
const TO_UNIT =
  'Each slice as one grey channel in [0, 1]: DICOM through the window chosen at import (by default the file’s, else the slice’s own min..max; MONOCHROME1 inverted), PNG as value / the bit depth’s maximum, colour as BT.601 luma; letterboxed (centred, zero-padded) to a square and area-resized to inputSize × inputSize';
const PREPROCESSING: Record<'unit' | 'zscore', string> = {
  unit: `${TO_UNIT}; fed as it is.`,
  zscore: `${TO_UNIT}; then shifted and scaled over its own pixels to mean 0 and standard deviation 1 (population standard deviation; a constant slice is only shifted).`,
};

export function checkRound(round: number): void {
  if (!Number.isInteger(round) || round < 0) throw new Error(`round must be a whole number ≥ 0 (got ${round})`);
}

export function checkLabels(spec: ModelSpec, labels: readonly string[] | undefined): string[] | null {
  if (labels === undefined) return null;
  const expected = spec.kind === 'unet' ? 1 : spec.numClasses;
  if (labels.length !== expected) {
    throw new Error(
      spec.kind === 'unet'
        ? `a unet has one output (foreground): give one label, not ${labels.length}`
        : `the ${spec.kind} has ${spec.numClasses} classes: give ${spec.numClasses} labels, not ${labels.length}`,
    );
  }
  return [...labels];
}

/**
 * The description of an export of `spec`. `target` 'layers': `customLayers` are the Fedward layer
 * classes in its topology (a BatchStatNorm among them makes it batch-dependent); 'onnx': the graph
 * has only standard operators, and the batch-statistics norms are written out as ops.
 */
export function describeExport(
  spec: ModelSpec,
  round: number,
  labels: string[] | null,
  target: { format: 'layers'; customLayers: string[] } | { format: 'onnx'; batchDependent: boolean },
): ExportedModelInfo {
  const normalization = spec.normalization ?? DEFAULT_NORMALIZATION;
  const segmentation = spec.kind === 'unet';
  const customLayers = target.format === 'layers' ? target.customLayers : [];
  const batchDependent = target.format === 'layers' ? customLayers.includes(BATCH_STAT_NORM_CLASS) : target.batchDependent;
  const notes: string[] = [];
  if (batchDependent) {
    const norm =
      target.format === 'layers'
        ? `Its normalisation layers (${BATCH_STAT_NORM_CLASS}: per channel, (x − mean) / sqrt(variance + 1e-5) over the batch, rows and columns, biased variance, no weights)`
        : 'Its normalisations (per channel, (x − mean) / sqrt(variance + 1e-5) over the batch, rows and columns, biased variance: ReduceMean, Sub, Mul, Add, Sqrt, Div in the graph)';
    notes.push(
      `${norm} use the statistics of the batch they are given, as in the hospitals' training and evaluation: predict a set of slices in one call${target.format === 'layers' ? ' (model.predict(x, { batchSize: n }))' : ' (one session.run on all n slices)'}; a slice predicted alone gets different outputs.`,
    );
    if (target.format === 'layers') {
      notes.push(
        `${BATCH_STAT_NORM_CLASS} is not part of TF.js: register a layer class of that name before tf.loadLayersModel (importing @fedward/models does it; see its README for a stand-alone definition).`,
      );
    }
  }
  const group = spec.norm === 'group' && spec.kind !== 'small-cnn' && spec.kind !== 'small-cnn-vb';
  if (spec.kind === 'small-cnn-vb' && target.format === 'layers') {
    notes.push(
      `Its variational bottleneck (${VARIATIONAL_SAMPLE_CLASS}) gives μ in inference (model.predict), so predictions are deterministic; it is not part of TF.js: register a layer class of that name before tf.loadLayersModel (importing @fedward/models does it).`,
    );
  }
  if (spec.kind === 'vgg-slim' && !group) notes.push('Its BatchNorm layers use the moving statistics averaged during training (evaluation mode).');
  if (group) {
    notes.push(
      `Its normalisation layers are GroupNorms, each slice on its own: the channels split into G contiguous groups (G the largest divisor of the channel count up to ${GROUP_NORM_MAX_GROUPS}; one group, a LayerNorm, after a dense layer), each group (x − mean) / sqrt(variance + 1e-5) over its channels, rows and columns (biased variance), then · γ + β per channel. A slice's output does not depend on its batch.`,
    );
    if (target.format === 'layers') {
      notes.push(
        `${GROUP_NORM_CLASS} is not part of TF.js: register a layer class of that name before tf.loadLayersModel (importing @fedward/models does it; see its README for a stand-alone definition).`,
      );
    }
  }
  if (target.format === 'onnx') {
    notes.push(
      'ONNX graph: input "slice" is NHWC [n, rows, columns, channels] float32 as for the TF.js model; the graph transposes it to NCHW itself, and its output "logits" has the TF.js model’s shape and layout.',
    );
  }
  return {
    format: target.format === 'layers' ? 'fedward.layers-export' : 'fedward.onnx-export',
    version: 1,
    spec: { ...spec },
    round,
    labels,
    input: {
      shape: [null, spec.inputSize, spec.inputSize, spec.channels],
      layout: 'NHWC',
      dtype: 'float32',
      normalization,
      preprocessing: PREPROCESSING[normalization],
    },
    output: segmentation
      ? {
          shape: [null, spec.inputSize, spec.inputSize, 1],
          meaning: 'Logits, one per pixel: sigmoid(logit) is the probability the pixel is foreground (Fedward counts ≥ 0.5 as foreground).',
        }
      : {
          shape: [null, spec.numClasses],
          meaning: 'Logits, one per class: softmax over the last axis gives the class probabilities; class k is labels[k].',
        },
    customLayers,
    batchDependent,
    notes,
  };
}
