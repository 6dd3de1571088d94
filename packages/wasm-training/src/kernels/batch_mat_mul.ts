import { BatchMatMul, util } from '@tensorflow/tfjs';
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { WasmOps } from '../wasm_ops';

/**
 * tfjs-backend-wasm sends a matmul to XNNPACK only when neither operand is
 * transposed and there is a single batch; every other case runs a scalar
 * triple loop. Backprop through a dense layer always asks for a transposed
 * operand (dX = dY·Wᵀ, dW = Xᵀ·dY), so this wrapper materialises the
 * transpose with the wasm Transpose kernel and then calls the original
 * kernel on its fast path.
 */
export function batchMatMulConfigOver(original: KernelConfig): KernelConfig {
  const fast = original.kernelFunc;
  function batchMatMul(args: {
    inputs: { a: TensorInfo; b: TensorInfo };
    backend: WasmOps['backend'];
    attrs: BatchMatMulAttrs;
  }): TensorInfo {
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs;
    const single = util.sizeFromShape(a.shape.slice(0, -2)) === 1 && util.sizeFromShape(b.shape.slice(0, -2)) === 1;
    if ((!transposeA && !transposeB) || !single || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return fast(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const ops = new WasmOps(args.backend);
    const a2 = transposeA ? ops.transpose(a, swapLastTwo(a.shape.length)) : a;
    const b2 = transposeB ? ops.transpose(b, swapLastTwo(b.shape.length)) : b;
    const out = fast({
      inputs: { a: a2, b: b2 },
      backend: args.backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
    return ops.finish(out);
  }
  return { ...original, kernelName: BatchMatMul, kernelFunc: batchMatMul as unknown as KernelFunc };
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}
