import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { buildPage } from '../../packages/wasm-training/bench/build-page';
import { serveIsolated } from '../../packages/wasm-training/bench/serve';
import type { ThreadsCheck } from '../../packages/wasm-training/test/browser/threads-page';
import { tempDir } from './fedward-server';

/*
 * The package's training kernels split across Web Workers on the wasm backend's shared memory
 * (packages/wasm-training/src/native/pool.ts): Node has no such workers, so this runs in
 * Chromium. With two threads, the workers must start, run chunks of the real models'
 * convolutions and matmuls, and every gradient must match the cpu backend's.
 */
const page = fileURLToPath(new URL('../../packages/wasm-training/test/browser/threads-page.ts', import.meta.url));
let server: Awaited<ReturnType<typeof serveIsolated>>;

test.beforeAll(async () => {
  const outDir = tempDir('fedward-e2e-kernel-threads-');
  await buildPage(page, outDir);
  server = await serveIsolated(outDir);
});

test.afterAll(async () => {
  await server?.close();
});

test('training kernels split across two threads match the cpu backend', async ({ browser }) => {
  test.setTimeout(300_000);
  const tab = await browser.newPage();
  const errors: string[] = [];
  tab.on('pageerror', (e) => errors.push(e.message));
  await tab.goto(server.url);
  await tab.waitForFunction(() => document.title === 'ready');
  expect(await tab.evaluate(() => crossOriginIsolated)).toBe(true);
  const result: ThreadsCheck = await tab.evaluate(() => window.checkThreads(2));
  console.log(JSON.stringify(result));

  // As the hospital app runs it: XNNPACK's pool on one thread, the package's kernels on two.
  expect(result.backendThreads).toBe(1);
  expect(result.kernelThreads).toBe(2);
  expect(['relaxed-simd', 'simd']).toContain(result.nativeKernels);
  for (const c of result.cases) {
    const label = `${c.model}, batch ${c.batch}`;
    expect(c.workerChunks, `${label}: chunks run by the kernel worker`).toBeGreaterThan(0);
    expect(Math.abs(c.lossWasm - c.lossCpu), `${label}: loss`).toBeLessThan(1e-4 * Math.max(1, Math.abs(c.lossCpu)));
    // As the unit tests' whole-model check: float32 sums in another order, through normalisations.
    expect(c.maxError, `${label}: gradients`).toBeLessThan(1e-3);
  }
  // The fused Adam step (Chromium runs the relaxed-SIMD build) equals the op-by-op step to the bit.
  // Its chunks are so short that this thread often takes them all before the worker wakes.
  expect(result.adam.differing).toBe(0);
  expect(result.trainLosses.every(Number.isFinite)).toBe(true);
  expect(result.trainLosses.at(-1)!).toBeLessThan(result.trainLosses[0]! * 0.7);
  expect(errors).toEqual([]);
  await tab.close();
});
