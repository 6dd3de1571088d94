import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@fedward/wasm-training';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendName } from '@fedward/protocol';
import { parseBackendOverride, relativeError, runBackendLadder, selfCheckOutputs } from '../src';

const require = createRequire(import.meta.url);
const SABOTAGED = 'sabotaged-cpu';
const fast = { steps: 2, budgetMs: 1500, batchSize: 8, spec: { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 3 } } as const;

/**
 * A real backend that computes a wrong answer: the cpu backend with every kernel, except that
 * Relu runs cpu's Abs (negative activations come out positive instead of zero).
 */
function registerSabotagedBackend(): void {
  tf.registerBackend(SABOTAGED, tf.findBackendFactory('cpu')!);
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    const source = kernel.kernelName === 'Relu' ? tf.getKernel('Abs', 'cpu')! : kernel;
    tf.registerKernel({ ...source, kernelName: kernel.kernelName, backendName: SABOTAGED });
  }
}

beforeAll(async () => {
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(`${dist}${path.sep}`);
  registerWasmTrainingKernels();
  registerSabotagedBackend();
});

afterAll(async () => {
  await tf.setBackend('cpu');
  tf.removeBackend(SABOTAGED);
});

describe('backend ladder', () => {
  it('measures cpu and wasm, both pass the self-check, and leaves the fastest active', async () => {
    const seen: BackendName[] = [];
    const outcome = await runBackendLadder({ ...fast, candidates: ['cpu', 'wasm'], onResult: (r) => seen.push(r.backend) });
    expect(seen).toEqual(['cpu', 'wasm']);
    for (const r of outcome.results) {
      expect(r.ok, r.error).toBe(true);
      expect(r.msPerStep).toBeGreaterThan(0);
      expect(r.maxRelError).toBeLessThanOrEqual(1e-3);
    }
    const [cpu, wasm] = outcome.results;
    expect(outcome.chosen).toBe(cpu!.msPerStep! <= wasm!.msPerStep! ? 'cpu' : 'wasm');
    expect(tf.getBackend()).toBe(outcome.chosen);
    console.log(`ladder in Node: ${outcome.results.map((r) => `${r.backend} ${r.msPerStep!.toFixed(1)} ms/step`).join(', ')}`);
  });

  it('rejects a backend whose numbers differ from cpu, however fast it is', async () => {
    // 'webgl' is routed to the sabotaged backend; with a benchmark it would be as fast as cpu.
    const outcome = await runBackendLadder({
      ...fast,
      candidates: ['webgl', 'cpu'],
      activate: async (b) => tf.setBackend(b === 'webgl' ? SABOTAGED : b),
    });
    const webgl = outcome.results.find((r) => r.backend === 'webgl')!;
    expect(webgl.ok).toBe(false);
    expect(webgl.error).toMatch(/self-check differs from cpu/);
    expect(webgl.maxRelError).toBeGreaterThan(1e-2);
    expect(webgl.msPerStep).toBeUndefined();
    expect(outcome.chosen).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('the self-check itself sees the sabotage and matches across cpu and wasm', async () => {
    await tf.setBackend('cpu');
    const reference = selfCheckOutputs();
    await tf.setBackend('wasm');
    expect(relativeError(selfCheckOutputs(), reference)).toBeLessThan(1e-4);
    await tf.setBackend(SABOTAGED);
    expect(relativeError(selfCheckOutputs(), reference)).toBeGreaterThan(1e-2);
    expect(relativeError([new Float32Array([Number.NaN])], [new Float32Array([1])])).toBe(Number.POSITIVE_INFINITY);
  });

  it('skips backends that are not registered and honours an override order', async () => {
    const outcome = await runBackendLadder({ ...fast, candidates: ['webgpu', 'wasm'] });
    expect(outcome.results[0]).toMatchObject({ backend: 'webgpu', ok: false, error: 'not available' });
    expect(outcome.chosen).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('throws when nothing passes', async () => {
    await expect(
      runBackendLadder({ ...fast, candidates: ['webgpu', 'webgl'], activate: async (b) => (b === 'webgl' ? tf.setBackend(SABOTAGED) : false) }),
    ).rejects.toThrow(/no TF.js backend passed the self-check.*webgpu: not available.*webgl: self-check differs/);
  });

  it('parses ?backend= overrides', () => {
    expect(parseBackendOverride('wasm')).toEqual(['wasm']);
    expect(parseBackendOverride(' WASM, cpu,bogus')).toEqual(['wasm', 'cpu']);
    expect(parseBackendOverride(null)).toEqual([]);
  });
});
