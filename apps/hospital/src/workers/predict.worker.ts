/// <reference lib="webworker" />
import { DataError, modelInput, quantize, readSliceFile, type SampleSlice } from '@fedward/data';
import { activateBackend, createModel, type ModelEngine } from '@fedward/models';
import { decodeWeights } from '@fedward/protocol';
import type { LatestModel } from '../api/latest-model';
import { localStore, modelNormalization } from '../api/local-data';
import { classProbabilities, maskPrediction, type Prediction } from '../api/prediction';

/**
 * "Try the model": one slice through the kept model, here so that decoding and TF.js never block
 * the page. Nothing leaves the browser: the file is read here, the model comes from IndexedDB.
 */
export type PredictRequest = {
  id: number;
  model: LatestModel;
  /** A file the clinician picked, or a slice already imported (as stored: size × size, 16-bit). */
  slice: { kind: 'file'; file: File } | { kind: 'stored'; pixels: Uint16Array };
};
export type PredictReply =
  | { id: number; type: 'stage'; stage: 'reading' | 'predicting' }
  /** `pixels`: the slice as the model sees it before normalisation (as stored); `batch`: slices predicted together. */
  | { id: number; type: 'result'; prediction: Prediction; pixels: Uint16Array; batch: number }
  | { id: number; type: 'error'; message: string };

const post = (m: PredictReply) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);

let loaded: { key: string; engine: ModelEngine } | null = null;

/** The model's engine, built once per kept model (cpu: one small batch needs no faster backend, nor its start-up). */
async function engineFor(model: LatestModel): Promise<ModelEngine> {
  const key = `${model.study}\u0000${model.round}\u0000${model.receivedAt}`;
  if (loaded?.key === key) return loaded.engine;
  await activateBackend(['cpu']);
  loaded?.engine.dispose();
  const engine = createModel(model.spec);
  engine.setWeights(decodeWeights(model.weights));
  loaded = { key, engine };
  return engine;
}

/** The file as import would store it: decoded, windowed, resized to the model's input, 16-bit. */
async function readFile(file: File, size: number): Promise<Uint16Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (e) {
    throw new DataError(file.name, `could not be read (${(e as Error).message}); copy it to this computer and pick it again`);
  }
  return quantize(await readSliceFile(bytes, file.name, size));
}

const samePixels = (a: Uint16Array, b: Uint16Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Stored slices to predict the slice with, so that it is in a batch of the study's batch size as
 * in evaluation: in the batch-stat norms (DenseNet, U-Net) a slice's output depends on its batch,
 * and a slice alone can even lose its features. Other models give each slice the same output.
 */
async function companions(pixels: Uint16Array, model: LatestModel): Promise<SampleSlice[]> {
  const samples = await (await localStore()).sampleSlices(model.batchSize);
  return samples.filter((s) => s.size === model.spec.inputSize && !samePixels(s.pixels, pixels)).slice(0, model.batchSize - 1);
}

async function predict({ id, model, slice }: PredictRequest): Promise<void> {
  const { spec } = model;
  const area = spec.inputSize * spec.inputSize;
  post({ id, type: 'stage', stage: 'reading' });
  const pixels = slice.kind === 'file' ? await readFile(slice.file, spec.inputSize) : slice.pixels;
  if (pixels.length !== area) throw new Error(`this slice is not ${spec.inputSize}×${spec.inputSize}: import your folder again at the study's size`);
  post({ id, type: 'stage', stage: 'predicting' });
  const batch = [pixels, ...(await companions(pixels, model)).map((s) => s.pixels)];
  const x = new Float32Array(batch.length * area);
  batch.forEach((p, k) => modelInput(p, modelNormalization(spec), x.subarray(k * area, (k + 1) * area)));
  const engine = await engineFor(model);
  const outputs = engine.predict(x, batch.length);
  // The slice is the batch's first: its outputs come first.
  const prediction: Prediction =
    spec.kind === 'unet'
      ? maskPrediction(outputs.subarray(0, area))
      : { kind: 'classes', classes: classProbabilities(outputs.subarray(0, spec.numClasses), model.classes) };
  post({ id, type: 'result', prediction, pixels, batch: batch.length });
}

/** One request at a time: two at once would build (and dispose) the same model twice. */
let queue = Promise.resolve();
self.onmessage = (event: MessageEvent<PredictRequest>) => {
  const request = event.data;
  queue = queue.then(() =>
    predict(request).catch((e: unknown) => {
      const name = request.slice.kind === 'file' ? request.slice.file.name : 'The imported slice';
      // A DataError already names the file, the problem and the fix.
      const message = e instanceof DataError ? e.message : `${name}: ${e instanceof Error ? e.message : String(e)}`;
      post({ id: request.id, type: 'error', message });
    }),
  );
};
