/** What the benchmark driver asks the page to run, and what it gets back. */
export interface BenchRequest {
  backend: 'wasm' | 'webgl' | 'cpu' | 'webgpu';
  model: string;
  batch: number;
  /** wasm only: threads for XNNPACK's pool (needs cross-origin isolation). */
  threads?: number;
  /** 'loop': optimizer.minimize per batch (the project's path); 'fit': model.fit. */
  mode: 'loop' | 'fit';
  warmupSteps: number;
  maxSteps: number;
  /** Time budget, warm-up included; at least one timed step. */
  maxSeconds: number;
  /** Also profile a few steps per kernel (tf.profile) after the timed ones. */
  profile?: boolean;
}

export interface BenchResult {
  samplesPerS: number;
  steps: number;
  seconds: number;
  firstLoss: number;
  lastLoss: number;
  threads: number | null;
  crossOriginIsolated: boolean;
  /** wasm only: which build of the package's wasm kernels ran ('off': its JS fallbacks). */
  nativeKernels: 'relaxed-simd' | 'simd' | 'off' | null;
  /** With `profile`: ms per step by kernel (best of the profiled steps), slowest first. */
  kernels?: Array<{ name: string; ms: number; calls: number }>;
}

declare global {
  interface Window {
    runBench(request: BenchRequest): Promise<BenchResult>;
  }
}
