/// <reference lib="webworker" />
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { registerWasmTrainingKernels } from '@fedward/wasm-training';
import {
  IMPLEMENTED_DEFENCES,
  assertSmallCnn,
  assertSmallCnnVb,
  demoImages,
  invert,
  matchMoments,
  observedUpdate,
  paramsFromWeights,
  psnr,
  ssim,
  vbSimulation,
  type Defence,
} from '@fedward/leakage-audit';
import { activateBackend, createModel, SGD_WEIGHT_DECAY } from '@fedward/models';
import { VB_DEFAULTS, type ModelSpec, type NamedTensor } from '@fedward/protocol';
import type { AuditReply, AuditRequest, AuditSettings, DefenceResult } from '../types/leakage-audit';

/**
 * The Audit view's gradient-inversion attack (@fedward/leakage-audit), here so TF.js never blocks
 * the page. A DEMO hospital (the package's public demo slices) trains the study's model from its
 * released global weights; the attacker sees its update as each defence leaves it and inverts it.
 * No hospital's data or update is involved. Cancelling is terminating this worker.
 */

const post = (m: AuditReply) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);

let backend: Promise<string> | null = null;

/**
 * wasm as the hospital app sets it up (its training kernels, with the second-order gradients the
 * attack needs), or cpu if it cannot start; once per worker, which serves one run after another.
 */
function startBackend(): Promise<string> {
  backend ??= prepareBackend();
  return backend;
}

async function prepareBackend(): Promise<string> {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
  });
  registerWasmTrainingKernels();
  return activateBackend(['wasm', 'cpu']);
}

/**
 * The model the demo hospital trains under `defence`: the study's released one, except for
 * precode, which is another model (small-cnn-vb, PRECODE's variational bottleneck at its
 * defaults). A small-cnn study has released no small-cnn-vb weights, so those start fresh from
 * the study's seed, as round 1 of a small-cnn-vb study would.
 */
function auditedModel(defence: Defence, spec: ModelSpec, global: NamedTensor[]): { spec: ModelSpec; global: NamedTensor[]; vb: DefenceResult['vb'] } {
  if (defence !== 'precode') return { spec, global, vb: null };
  const vb = { beta: VB_DEFAULTS.beta, k: VB_DEFAULTS.k };
  const vbSpec: ModelSpec = { ...spec, kind: 'small-cnn-vb', vb };
  const model = createModel(vbSpec);
  try {
    const weights = model.getWeights();
    assertSmallCnnVb(vbSpec, weights);
    return { spec: vbSpec, global: weights, vb: { ...vb, attackerNoise: 'mean' } };
  } finally {
    model.dispose();
  }
}

/** What the attacker sees instead of the demo hospital's Δ under `defence`, and the line saying so. */
async function observe(defence: Defence, s: AuditSettings, spec: ModelSpec, global: NamedTensor[], x: Float32Array, labels: Int32Array) {
  const { delta, epsilon, release } = await observedUpdate(defence, s, spec, global, x, labels);
  const notes: Record<Defence, () => string> = {
    none: () => 'The attacker sees the demo hospital’s update as it left the hospital.',
    dp: () => `The attacker sees the server’s release of a round with this one update: clipped to C = ${s.dp.clip}, noise z = ${s.dp.noiseMultiplier} (σ = ${release!.sigma.toPrecision(3)} per weight).`,
    secagg: () => `The attacker sees only the sum of ${s.hospitals} demo hospitals’ updates.`,
    'dp-sgd': () => `The demo hospital trains with DP-SGD: each patient clipped to C = ${s.dpSgd.clip}, noise σ = ${s.dpSgd.noiseMultiplier}.`,
    precode: () =>
      `The demo hospital trains small-cnn-vb instead (PRECODE’s variational bottleneck, β = ${spec.vb?.beta ?? VB_DEFAULTS.beta}, K = ${spec.vb?.k ?? VB_DEFAULTS.k}; fresh weights from the study’s seed, since this study trains the small CNN), drawing its noise from its own random source, which never leaves it. The attacker sees the update as sent and simulates the bottleneck with zero noise. PRECODE is not differential privacy: there is no ε.`,
  };
  return { delta, epsilon, note: notes[defence]() };
}

async function attack(defence: Defence, request: AuditRequest, x: Float32Array, labels: Int32Array): Promise<DefenceResult> {
  const { spec, global, vb } = auditedModel(defence, request.spec, request.global);
  const s = request.settings;
  const size = spec.inputSize;
  const area = size * size;
  const { delta, epsilon, note } = await observe(defence, s, spec, global, x, labels);
  const params = paramsFromWeights(global);
  const observed = delta.map((d, i) => tf.tensor(d, global[i]!.shape));
  try {
    // The CLI's attack settings (its defaults: Adam on ∇R, step 0.1, TV 0.01, seed 1), the same budget for every defence.
    const run = invert({
      params,
      observed,
      labels,
      shape: [labels.length, size, size, 1],
      numClasses: spec.numClasses,
      // precode: the attacker's copy of small-cnn-vb, ε = 0 in place of the hospital's draws (the CLI's default).
      ...(defence === 'precode' && { simulate: vbSimulation(spec, 'mean') }),
      // zscore: the only scaling hospitalUpdate trains with (it refuses any other spec).
      training: { learningRate: s.learningRate, steps: s.localSteps, weightDecay: SGD_WEIGHT_DECAY, normalization: 'zscore' },
      iterations: s.iterations,
      restarts: s.restarts,
      learningRate: 0.1,
      tvWeight: 0.01,
      seed: 1,
      signed: false,
    });
    let step = await run.next();
    while (!step.done) {
      const p = step.value;
      post({ type: 'progress', defence, restart: p.restart, restarts: s.restarts, iteration: p.iteration, iterations: p.iterations, loss: p.loss });
      step = await run.next();
    }
    const images = step.value.images;
    const reconstructions = new Float32Array(images.length);
    const scores = Array.from(labels, (_, i) => {
      const original = x.subarray(i * area, (i + 1) * area);
      const matched = matchMoments(images.subarray(i * area, (i + 1) * area), original);
      reconstructions.set(matched, i * area);
      return { psnr: psnr(matched, original), ssim: ssim(matched, original, size, size) };
    });
    return {
      defence,
      size,
      labels: Array.from(labels),
      originals: x,
      reconstructions,
      psnr: scores.map((m) => m.psnr),
      ssim: scores.map((m) => m.ssim),
      epsilon,
      note,
      model: spec.kind,
      vb,
    };
  } finally {
    tf.dispose([...params, ...observed]);
  }
}

async function run(request: AuditRequest): Promise<void> {
  post({ type: 'backend', backend: await startBackend() });
  assertSmallCnn(request.spec, request.global);
  const { x, labels } = demoImages(request.settings.images, request.spec.inputSize);
  for (const defence of request.settings.defences) post({ type: 'result', result: await attack(defence, request, x, labels) });
  post({ type: 'done' });
}

// The page learns the defences from here, so that TF.js (which the package imports) loads in this worker only.
post({ type: 'defences', defences: [...IMPLEMENTED_DEFENCES] });

self.onmessage = (event: MessageEvent<AuditRequest>) => {
  run(event.data).catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
};
