/** What the benchmark driver asks the page to run, and what it gets back. */
export interface BenchRequest {
  backend: 'wasm' | 'webgl' | 'cpu' | 'webgpu';
  model: string;
  batch: number;
  /** wasm only: threads for XNNPACK's pool (needs cross-origin isolation). */
  threads?: number;
  /** 'loop': the product's step per batch (tf.variableGrads + @fedward/models' AdamOptimizer, fused on wasm); 'fit': model.fit. */
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
  /** 'fused Adam' (@fedward/models' AdamOptimizer with the FedwardAdamUpdate kernel), 'Adam op by op' (the same elsewhere), or model.fit's tf.train.adam. */
  optimizer: string;
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

/** The wasm SIMD ceiling (../simd-ceiling.ts) on `threads` workers at once, for about `ms` per measurement. */
export interface CeilingRequest {
  threads: number;
  ms: number;
}

export interface CeilingResult {
  gflops: number;
  threads: number;
  instruction: string;
  accumulators: number;
}

declare global {
  interface Window {
    runBench(request: BenchRequest): Promise<BenchResult>;
    simdCeiling(request: CeilingRequest): Promise<CeilingResult>;
  }
}
