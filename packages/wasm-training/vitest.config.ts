import { spawnSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';

// Node 20 validates relaxed SIMD only behind a V8 flag; pass it where it is
// accepted, so that the tests run the package's relaxed-SIMD kernel build
// (the one Chromium runs) as well as the plain SIMD one.
const relaxedFlag = '--experimental-wasm-relaxed-simd';
const flagAccepted = spawnSync(process.execPath, [relaxedFlag, '-e', ''], { stdio: 'ignore' }).status === 0;

export default defineConfig({
  // The cpu reference backend is slow; whole-model gradient checks take seconds.
  test: { testTimeout: 60_000, execArgv: flagAccepted ? [relaxedFlag] : [] },
});
