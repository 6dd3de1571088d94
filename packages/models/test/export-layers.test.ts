import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { activateBackend, createModel, exportLayersModel, onnxSupport, seededRandom, type LayersModelJson } from '../src';
import { LayersEngine } from '../src/engine';

let dir = '';

beforeAll(async () => {
  await activateBackend(['cpu']);
  dir = await mkdtemp(join(tmpdir(), 'fedward-export-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Random weights of the spec's shapes; variances kept positive so BatchNorm stays finite. */
function randomWeights(spec: ModelSpec, seed: number): NamedTensor[] {
  const rand = seededRandom(seed);
  const engine = createModel(spec);
  const shapes = engine.getWeights();
  engine.dispose();
  return shapes.map(({ name, shape, values }) => ({
    name,
    shape,
    values: Float32Array.from(values, () => (name.endsWith('moving_variance') ? 0.5 + rand() : (rand() * 2 - 1) * 0.5)),
  }));
}

/** Writes model.json and weights.bin as a user would save them. */
async function writeExport(name: string, modelJson: LayersModelJson, weightsBin: Uint8Array): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'model.json'), JSON.stringify(modelJson));
  await writeFile(join(folder, 'weights.bin'), weightsBin);
  return folder;
}

/** An IOHandler that reads model.json and the weight files it names from a folder (tfjs-node's file:// in miniature). */
function fileHandler(folder: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) {
            const bytes = await readFile(join(folder, path));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, buffers];
      });
    },
  };
}

function randomInputs(spec: ModelSpec, n: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: n * spec.inputSize * spec.inputSize * spec.channels }, () => rand() * 2 - 1);
}

const families: { spec: ModelSpec; labels?: string[]; custom: string[] }[] = [
  { spec: { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 3, seed: 7, normalization: 'zscore' }, labels: ['none', 'bleed', 'other'], custom: [] },
  { spec: { kind: 'vgg-slim', inputSize: 16, channels: 1, numClasses: 2, seed: 3, normalization: 'unit' }, custom: [] },
  { spec: { kind: 'densenet', inputSize: 32, channels: 1, numClasses: 2, seed: 5 }, labels: ['no ICH', 'ICH'], custom: ['FedwardBatchStatNorm'] },
  { spec: { kind: 'unet', inputSize: 16, channels: 1, numClasses: 2, seed: 5, width: 4 }, labels: ['prostate'], custom: ['FedwardBatchStatNorm'] },
  // The GroupNorm variants (norm 'group'): a custom layer, but per-slice statistics.
  { spec: { kind: 'vgg-slim', inputSize: 16, channels: 1, numClasses: 2, seed: 3, norm: 'group' }, custom: ['FedwardGroupNorm'] },
  { spec: { kind: 'densenet', inputSize: 32, channels: 1, numClasses: 2, seed: 5, norm: 'group' }, custom: ['FedwardGroupNorm'] },
  { spec: { kind: 'unet', inputSize: 16, channels: 1, numClasses: 2, seed: 5, width: 4, norm: 'group' }, labels: ['prostate'], custom: ['FedwardGroupNorm'] },
];


type LayerClass = tf.serialization.SerializableConstructor<tf.layers.Layer> & (abstract new (...args: never[]) => tf.layers.Layer);

/**
 * Exports `spec` with random weights, loads model.json with `standalone` (a layer written without
 * Fedward code) registered under the package's class name, and checks it predicts what the engine
 * does; `own` (the package's class) is registered again afterwards.
 */
async function expectStandaloneLoad(spec: ModelSpec, folderName: string, standalone: LayerClass, own: LayerClass): Promise<void> {
  const weights = randomWeights(spec, 12);
  const { modelJson, weightsBin } = await exportLayersModel(spec, weights, { round: 2 });
  const folder = await writeExport(folderName, modelJson, weightsBin);
  tf.serialization.registerClass(standalone);
  try {
    const loaded = await tf.loadLayersModel(fileHandler(folder));
    expect(loaded.layers.some((l) => l instanceof standalone)).toBe(true);
    expect(loaded.layers.some((l) => l instanceof own)).toBe(false);
    const engine = createModel(spec) as LayersEngine;
    engine.setWeights(weights);
    const x = randomInputs(spec, 4, 5);
    const expected = engine.predict(x, 4);
    const out = loaded.predict(tf.tensor4d(x, [4, spec.inputSize, spec.inputSize, spec.channels]), { batchSize: 4 }) as tf.Tensor;
    const actual = out.dataSync();
    for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(1e-5);
    tf.dispose([out]);
    loaded.dispose();
    engine.dispose();
  } finally {
    tf.serialization.registerClass(own); // the package's own class again
  }
}

describe('TF.js Layers export', () => {
  for (const { spec, labels, custom } of families) {
    it(`${spec.kind}${spec.norm === 'group' ? ' GroupNorm' : ''}: model.json + weights.bin load with tf.loadLayersModel and predict what the engine predicts`, async () => {
      const weights = randomWeights(spec, 11);
      const exported = await exportLayersModel(spec, weights, { round: 4, labels });
      const { modelJson, weightsBin, info } = exported;
      expect(modelJson.format).toBe('layers-model');
      expect(modelJson.generatedBy).toMatch(/^TensorFlow\.js tfjs-layers v/);
      expect(modelJson.convertedBy).toContain('Fedward');
      expect(modelJson.weightsManifest).toEqual([{ paths: ['weights.bin'], weights: expect.any(Array) }]);
      // The manifest lists the wire tensors, same names and shapes (TF.js puts trainable ones
      // first, so BatchNorm's moving statistics move to the end); the bin is exactly their floats.
      const byName = (list: { name: string; shape: number[] }[]) => list.map((w) => [w.name, w.shape]).sort((p, q) => String(p[0]).localeCompare(String(q[0])));
      expect(byName(modelJson.weightsManifest[0]!.weights)).toEqual(byName(weights));
      expect(weightsBin.byteLength).toBe(4 * weights.reduce((n, w) => n + w.values.length, 0));
      expect(info).toBe(modelJson.userDefinedMetadata.fedward);
      expect(info.round).toBe(4);
      expect(info.labels).toEqual(labels ?? null);
      expect(info.input.shape).toEqual([null, spec.inputSize, spec.inputSize, spec.channels]);
      expect(info.input.normalization).toBe(spec.normalization ?? 'zscore');
      expect(info.customLayers).toEqual(custom);
      expect(info.batchDependent).toBe(custom.includes('FedwardBatchStatNorm'));

      const folder = await writeExport(`${spec.kind}-${spec.norm ?? 'batch'}`, modelJson, weightsBin);
      const loaded = await tf.loadLayersModel(fileHandler(folder));
      expect((loaded.getUserDefinedMetadata() as { fedward: { round: number } }).fedward.round).toBe(4);

      const engine = createModel(spec);
      if (!(engine instanceof LayersEngine)) throw new Error('expected a LayersEngine');
      engine.setWeights(weights);
      const n = 3;
      const x = randomInputs(spec, n, 99);
      const expected = engine.predict(x, n);
      const out = tf.tidy(() => loaded.predict(tf.tensor4d(x, [n, spec.inputSize, spec.inputSize, spec.channels]), { batchSize: n }) as tf.Tensor);
      expect(out.shape).toEqual([n, ...info.output.shape.slice(1)]);
      const actual = out.dataSync() as Float32Array;
      expect(actual.length).toBe(expected.length);
      let worst = 0;
      for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
      expect(worst).toBeLessThanOrEqual(1e-6);
      // Not trivially equal: the outputs vary across samples.
      expect(new Set(Array.from(expected, (v) => v.toFixed(4))).size).toBeGreaterThan(1);
      out.dispose();
      loaded.dispose();
      engine.dispose();
    }, 120_000);
  }

  it('loads a DenseNet in TF.js without Fedward code, with the stand-alone layer of the README', async () => {
    // The README's definition, verbatim apart from types: what a user pastes before tf.loadLayersModel.
    class FedwardBatchStatNorm extends tf.layers.Layer {
      static className = 'FedwardBatchStatNorm';
      override computeOutputShape(s: tf.Shape | tf.Shape[]) {
        return s;
      }
      override call(inputs: tf.Tensor | tf.Tensor[]) {
        return tf.tidy(() => {
          const x = Array.isArray(inputs) ? inputs[0]! : inputs;
          const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
          return tf.batchNorm(x, mean, variance, undefined, undefined, 1e-5);
        });
      }
    }
    const { BatchStatNorm } = await import('../src/norm');
    const spec: ModelSpec = { kind: 'densenet', inputSize: 32, channels: 1, numClasses: 2, seed: 5 };
    await expectStandaloneLoad(spec, 'densenet-standalone', FedwardBatchStatNorm, BatchStatNorm);
  }, 120_000);

  it('loads a GroupNorm vgg-slim in TF.js without Fedward code, with the stand-alone layer of the README', async () => {
    // The README's definition, verbatim apart from types.
    class FedwardGroupNorm extends tf.layers.Layer {
      static className = 'FedwardGroupNorm';
      groups: number;
      epsilon: number;
      gamma!: tf.LayerVariable;
      beta!: tf.LayerVariable;
      constructor(config: { groups?: number; epsilon?: number; name?: string }) {
        super(config);
        this.groups = config.groups ?? 8;
        this.epsilon = config.epsilon ?? 1e-5;
      }
      override build(shape: tf.Shape | tf.Shape[]) {
        const c = (shape as number[])[(shape as number[]).length - 1]!;
        this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones());
        this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros());
      }
      override computeOutputShape(s: tf.Shape | tf.Shape[]) {
        return s;
      }
      override call(inputs: tf.Tensor | tf.Tensor[]) {
        return tf.tidy(() => {
          const x = Array.isArray(inputs) ? inputs[0]! : inputs;
          const c = x.shape[x.rank - 1]!;
          let g = x.rank === 2 ? 1 : Math.min(this.groups, c);
          while (c % g) g--;
          const r = x.reshape([x.shape[0]!, -1, g, c / g]);
          const { mean, variance } = tf.moments(r, [1, 3], true);
          const y = r.sub(mean).div(variance.add(this.epsilon).sqrt()).reshape(x.shape);
          return y.mul(this.gamma.read()).add(this.beta.read());
        });
      }
      override getConfig() {
        return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon };
      }
    }
    const { GroupNorm } = await import('../src/norm');
    const spec: ModelSpec = { kind: 'vgg-slim', inputSize: 16, channels: 1, numClasses: 2, seed: 3, norm: 'group' };
    await expectStandaloneLoad(spec, 'vgg-slim-group-standalone', FedwardGroupNorm, GroupNorm);
  }, 120_000);

  it('gives the same bytes for the same weights (no TF.js counters in model.json)', async () => {
    const spec: ModelSpec = { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 1 };
    const weights = randomWeights(spec, 2);
    createModel(spec).dispose(); // moves TF.js's global name counters between the two exports
    const a = await exportLayersModel(spec, weights, { round: 1 });
    const b = await exportLayersModel(spec, weights, { round: 1 });
    expect(JSON.stringify(b.modelJson)).toBe(JSON.stringify(a.modelJson));
    expect(Array.from(b.weightsBin)).toEqual(Array.from(a.weightsBin));
    // weights.bin is the wire values, little-endian float32, in manifest order.
    expect(Array.from(new Float32Array(a.weightsBin.buffer, a.weightsBin.byteOffset, 8))).toEqual(Array.from(weights[0]!.values.subarray(0, 8)));
  });

  it('refuses weights of another model and labels of the wrong count', async () => {
    const spec: ModelSpec = { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 1 };
    const weights = randomWeights(spec, 2);
    await expect(exportLayersModel(spec, weights.slice(1), { round: 1 })).rejects.toThrow(/tensors/);
    const renamed = weights.map((w, i) => (i === 0 ? { ...w, name: 'other/kernel' } : w));
    await expect(exportLayersModel(spec, renamed, { round: 1 })).rejects.toThrow(/conv1\/kernel/);
    await expect(exportLayersModel(spec, weights, { round: 1, labels: ['a', 'b', 'c'] })).rejects.toThrow(/2 labels/);
    await expect(exportLayersModel(spec, weights, { round: -1 })).rejects.toThrow(/round/);
  });

  it('says which families export to ONNX (export-onnx.test.ts checks the files)', () => {
    const r = onnxSupport({ kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 1 });
    expect(r.supported).toBe(true);
    expect(r.reason).toMatch(/model\.onnx, opset 13/);
  });
});
