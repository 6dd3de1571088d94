import { util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, f32 } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { WasmOps } from '../wasm_ops';

/**
 * The fused Adam / AMSGrad step that @fedward/models' AdamOptimizer runs where the backend has
 * it (the name and contract are FUSED_ADAM_KERNEL in packages/models/src/fused-adam.ts; models'
 * tests check that this kernel is the one used on wasm and that it equals the op-by-op update to
 * the bit). One pass over the tensor instead of a dozen XNNPACK kernels; with threads, chunks of
 * values across the package's kernel workers for tensors of 2¹⁶ values or more.
 */
export const FUSED_ADAM_KERNEL = 'FedwardAdamUpdate';

interface Attrs {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  stepSize: number;
  invBc2Sqrt: number;
  epsilon: number;
}

type Inputs = { param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo; vmax?: TensorInfo };

function adamUpdate(args: { inputs: Inputs; backend: WasmOps['backend']; attrs: Attrs }): TensorInfo[] {
  const { backend, attrs: a } = args;
  const { param, grad, m, v, vmax } = args.inputs;
  const all = vmax === undefined ? [param, grad, m, v] : [param, grad, m, v, vmax];
  const n = util.sizeFromShape(param.shape);
  for (const t of all) {
    if (t.dtype !== 'float32' || util.sizeFromShape(t.shape) !== n) {
      throw new Error(`${FUSED_ADAM_KERNEL}: every input must be float32 with ${n} values, got ${t.dtype} [${t.shape}]`);
    }
  }
  const outs = (vmax === undefined ? [param, m, v] : [param, m, v, vmax]).map((t) => allocate(backend, t.shape));
  const kernels = native(backend);
  if (kernels !== null) {
    const chunk = chunkSize(n, n >= 1 << 16 ? nativeParts(kernels) : 1, 4);
    // Inputs then outputs; a missing vmax is a null pointer, the same in every chunk.
    const at = (t: TensorInfo | undefined) => (t === undefined ? 0 : ptr(backend, t));
    const pointers = [param, grad, m, v, vmax, outs[0], outs[1], outs[2], outs[3]].map(at);
    nativeChunked(kernels, {
      name: 'adam_update',
      args: [...pointers, chunk,
        a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.stepSize, a.invBc2Sqrt, a.epsilon],
      steps: pointers.map((p) => (p === 0 ? 0 : chunk * 4)),
      countArg: 9,
      items: n,
      chunk,
    });
    return outs;
  }
  // No wasm SIMD: the same arithmetic in JS, rounding each operation to float32 as the kernels do.
  const r = Math.fround;
  const [b1, omb1, b2, omb2, step, inv, eps] = [a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.stepSize,
    a.invBc2Sqrt, a.epsilon].map(r) as [number, number, number, number, number, number, number];
  // Views after allocating the outputs (allocation can grow the heap).
  const [p, g, m0, v0] = [param, grad, m, v].map((t) => f32(backend, t)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const vmax0 = vmax === undefined ? null : f32(backend, vmax);
  const [pOut, mOut, vOut] = outs.map((t) => f32(backend, t)) as [Float32Array, Float32Array, Float32Array];
  const vmaxOut = vmax === undefined ? null : f32(backend, outs[3]!);
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    const mi = r(r(m0[i]! * b1) + r(gi * omb1));
    const vi = r(r(v0[i]! * b2) + r(r(gi * gi) * omb2));
    mOut[i] = mi;
    vOut[i] = vi;
    let vh = vi;
    if (vmax0 !== null) {
      vh = vmax0[i]! > vi ? vmax0[i]! : vi;
      vmaxOut![i] = vh;
    }
    pOut[i] = r(p[i]! - r(r(mi / r(r(r(Math.sqrt(vh)) * inv) + eps)) * step));
  }
  return outs;
}

export const adamUpdateConfig: KernelConfig = {
  kernelName: FUSED_ADAM_KERNEL,
  backendName: 'wasm',
  kernelFunc: adamUpdate as unknown as KernelFunc,
};
