import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { createModel } from './create-model';
import { LayersEngine } from './engine';
import { BatchStatNorm } from './norm';

/**
 * "The model you can take home" (issue 14): the federation's global model as the two files TF.js
 * Layers reads, model.json and weights.bin, loadable with `tf.loadLayersModel` in a browser (URL
 * of model.json, weights.bin next to it) or in Node (`tf.io.fromMemory`, or an IOHandler reading
 * the two files). The files are TF.js's own serialisation of the engine's network, so a loaded
 * model computes what the engine computes; model.json's `userDefinedMetadata.fedward` says how to
 * prepare its input and read its output.
 */

/** The one weights file model.json points at (relative to model.json). */
export const LAYERS_WEIGHTS_FILE = 'weights.bin';

/** One entry of model.json's weights manifest (TF.js's WeightsManifestEntry, float32 only here). */
export interface LayersWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** How to reproduce the federation's predictions with the exported model. */
export interface ExportedModelInfo {
  format: 'fedward.layers-export';
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
   * (`tf.serialization.registerClass`); importing @fedward/models registers them. Empty: plain TF.js loads it.
   */
  customLayers: string[];
  /**
   * True when a slice's output depends on the other slices of its batch (DenseNet and U-Net
   * normalise with the batch's own statistics, as the hospitals train and evaluate them).
   */
  batchDependent: boolean;
  notes: string[];
}

/** model.json of a TF.js Layers model (the subset of TF.js's ModelJSON that this export writes). */
export interface LayersModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string;
  modelTopology: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: LayersWeightSpec[] }[];
  userDefinedMetadata: { fedward: ExportedModelInfo };
}

export interface LayersExport {
  /** Serialise with JSON.stringify and save as model.json. */
  modelJson: LayersModelJson;
  /** Save as weights.bin next to model.json: float32 little-endian values in manifest order. */
  weightsBin: Uint8Array;
  /** The same as modelJson.userDefinedMetadata.fedward. */
  info: ExportedModelInfo;
}

export interface LayersExportOptions {
  /** The round whose global weights are exported. */
  round: number;
  /** Class names in the order of the model's outputs, when the study knows them. */
  labels?: readonly string[];
}

/** The default the hospital app applies when the spec says nothing (apps/hospital's federation worker). */
const DEFAULT_NORMALIZATION = 'zscore';

/** What the hospital app does to a slice before the model sees it (packages/data: import, then read time). */
const TO_UNIT =
  'Each slice as one grey channel in [0, 1]: DICOM through the window chosen at import (by default the file’s, else the slice’s own min..max; MONOCHROME1 inverted), PNG as value / the bit depth’s maximum, colour as BT.601 luma; letterboxed (centred, zero-padded) to a square and area-resized to inputSize × inputSize';
const PREPROCESSING: Record<'unit' | 'zscore', string> = {
  unit: `${TO_UNIT}; fed as it is.`,
  zscore: `${TO_UNIT}; then shifted and scaled over its own pixels to mean 0 and standard deviation 1 (population standard deviation; a constant slice is only shifted).`,
};

/**
 * Builds model.json and weights.bin for `spec` with the given global weights (in the wire order
 * of ModelEngine.getWeights; names and shapes are checked). Throws when a weight does not fit.
 */
export async function exportLayersModel(
  spec: ModelSpec,
  weights: readonly NamedTensor[],
  options: LayersExportOptions,
): Promise<LayersExport> {
  if (!Number.isInteger(options.round) || options.round < 0) throw new Error(`round must be a whole number ≥ 0 (got ${options.round})`);
  const labels = checkLabels(spec, options.labels);
  const engine = createModel(spec);
  try {
    if (!(engine instanceof LayersEngine)) throw new Error(`the ${spec.kind} engine is not a TF.js Layers model: it cannot be exported as one`);
    engine.setWeights(weights);
    const artifacts = await engine.layersArtifacts();
    if (!artifacts.modelTopology || artifacts.modelTopology instanceof ArrayBuffer || !artifacts.weightSpecs || !artifacts.weightData) {
      throw new Error(`TF.js saved the ${spec.kind} model without its topology or weights`);
    }
    const topology = structuredClone(artifacts.modelTopology) as Record<string, unknown>;
    // The model's own name comes from TF.js's global counters for the small CNN ("sequential_3"):
    // fix it so the same weights always give the same model.json.
    const config = topology['config'] as { name?: unknown } | undefined;
    if (config && typeof config === 'object') config.name = spec.kind.replace(/-/g, '_');
    const weightSpecs: LayersWeightSpec[] = artifacts.weightSpecs.map((w) => {
      if (w.dtype !== 'float32') throw new Error(`weight "${w.name}" is ${w.dtype}, not float32`);
      return { name: w.name, shape: [...w.shape], dtype: 'float32' };
    });
    const info = describe(spec, options.round, labels, customLayersIn(topology));
    const modelJson: LayersModelJson = {
      format: 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: `Fedward (@fedward/models exportLayersModel, ${spec.kind}, round ${options.round})`,
      modelTopology: topology,
      weightsManifest: [{ paths: [LAYERS_WEIGHTS_FILE], weights: weightSpecs }],
      userDefinedMetadata: { fedward: info },
    };
    const weightsBin = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    const expectedBytes = weightSpecs.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (weightsBin.byteLength !== expectedBytes) {
      throw new Error(`weights.bin has ${weightsBin.byteLength} bytes, the manifest needs ${expectedBytes}`);
    }
    return { modelJson, weightsBin, info };
  } finally {
    engine.dispose();
  }
}

/**
 * ONNX export (the issue asks for it where the model's ops allow it). Not written yet for any
 * family, and this says so rather than hand out a file nobody has checked.
 */
export function onnxSupport(spec: ModelSpec): { supported: false; reason: string } {
  return { supported: false, reason: `ONNX export is not implemented yet (${spec.kind}): download the TF.js model (model.json + weights.bin) instead.` };
}

/** Class names of Fedward's own layers, which plain TF.js does not know. */
const CUSTOM_LAYERS: ReadonlySet<string> = new Set([BatchStatNorm.className]);

function customLayersIn(topology: unknown): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'class_name' && typeof value === 'string' && CUSTOM_LAYERS.has(value)) found.add(value);
        else walk(value);
      }
    }
  };
  walk(topology);
  return [...found].sort();
}

function checkLabels(spec: ModelSpec, labels: readonly string[] | undefined): string[] | null {
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

function describe(spec: ModelSpec, round: number, labels: string[] | null, customLayers: string[]): ExportedModelInfo {
  const normalization = spec.normalization ?? DEFAULT_NORMALIZATION;
  const segmentation = spec.kind === 'unet';
  const batchDependent = customLayers.includes(BatchStatNorm.className);
  const notes: string[] = [];
  if (batchDependent) {
    notes.push(
      `Its normalisation layers (${BatchStatNorm.className}: per channel, (x − mean) / sqrt(variance + 1e-5) over the batch, rows and columns, biased variance, no weights) use the statistics of the batch they are given, as in the hospitals' training and evaluation: predict a set of slices in one call (model.predict(x, { batchSize: n })); a slice predicted alone gets different outputs.`,
      `${BatchStatNorm.className} is not part of TF.js: register a layer class of that name before tf.loadLayersModel (importing @fedward/models does it; see its README for a stand-alone definition).`,
    );
  }
  if (spec.kind === 'vgg-slim') notes.push('Its BatchNorm layers use the moving statistics averaged during training (evaluation mode).');
  return {
    format: 'fedward.layers-export',
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
