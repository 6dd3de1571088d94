import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { createModel } from './create-model';
import { LayersEngine } from './engine';
import { checkLabels, checkRound, describeExport, type ExportOptions, type ExportedModelInfo } from './export-info';
import { BatchStatNorm, GroupNorm } from './norm';
import { VARIATIONAL_SAMPLE_CLASS } from './variational-bottleneck';

export type { ExportedModelInfo } from './export-info';
/** Which families export to ONNX (export-onnx.ts), and what blocks the others: kept with the TF.js export for the package's index. */
export { onnxSupport } from './onnx-support';

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

/** Round and labels of the export (the same options as exportOnnx's). */
export type LayersExportOptions = ExportOptions;

/**
 * Builds model.json and weights.bin for `spec` with the given global weights (in the wire order
 * of ModelEngine.getWeights; names and shapes are checked). Throws when a weight does not fit.
 */
export async function exportLayersModel(
  spec: ModelSpec,
  weights: readonly NamedTensor[],
  options: LayersExportOptions,
): Promise<LayersExport> {
  checkRound(options.round);
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
    const info = describeExport(spec, options.round, labels, { format: 'layers', customLayers: customLayersIn(topology) });
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

/** Class names of Fedward's own layers, which plain TF.js does not know. */
const CUSTOM_LAYERS: ReadonlySet<string> = new Set([BatchStatNorm.className, GroupNorm.className, VARIATIONAL_SAMPLE_CLASS]);

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
