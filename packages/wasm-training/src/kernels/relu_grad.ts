import { cast, engine, getBackend, MaxPool, mul, Relu, step, util, zerosLike } from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { allocate, f32 } from '../heap';
import { MAX_POOL_GRAD_OF_RELU_KERNEL } from './max_pool_grad';
import { CONV2D_BIAS_RELU_KERNEL, NORMALIZE_KERNEL } from './kernel_names';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { WasmOps } from '../wasm_ops';

/**
 * dx = dy · step(x), the gradient of Relu, as one kernel. tfjs's own gradient runs Step and then
 * Multiply: two passes over the activation, which after the reference CNN's first convolution is
 * 32·62·62·16 values (8 MB, far larger than the cache), so each pass is memory traffic. The
 * result equals the two-kernel one to the bit.
 */
export const RELU_GRAD_KERNEL = 'FedwardReluGrad';

function reluGrad(args: { inputs: { dy: TensorInfo; x: TensorInfo }; backend: WasmOps['backend'] }): TensorInfo {
  const { backend } = args;
  const { dy, x } = args.inputs;
  const n = util.sizeFromShape(x.shape);
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || util.sizeFromShape(dy.shape) !== n) {
    throw new Error(`${RELU_GRAD_KERNEL}: dy and x must be float32 of one size, got ${dy.dtype} [${dy.shape}], ${x.dtype} [${x.shape}]`);
  }
  const out = allocate(backend, x.shape);
  const kernels = native(backend);
  if (kernels !== null) {
    // Worth splitting from 2¹⁶ values, as the bias add: below that a call costs less than a wake-up.
    const chunk = chunkSize(n, n >= 1 << 16 ? nativeParts(kernels) : 1, 4);
    nativeChunked(kernels, {
      name: 'relu_grad',
      args: [ptr(backend, dy), ptr(backend, x), ptr(backend, out), chunk],
      steps: [chunk * 4, chunk * 4, chunk * 4],
      countArg: 3,
      items: n,
      chunk,
    });
    return out;
  }
  // Views after allocating the output (allocation can grow the heap).
  const g = f32(backend, dy);
  const v = f32(backend, x);
  const o = f32(backend, out);
  for (let i = 0; i < n; i++) {
    const xi = v[i]!;
    o[i] = g[i]! * (Number.isNaN(xi) ? xi : xi > 0 ? 1 : 0);
  }
  return out;
}

export const reluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD_KERNEL,
  backendName: 'wasm',
  kernelFunc: reluGrad as unknown as KernelFunc,
};

/** Whether the fused kernel takes this gradient: float32 on wasm, where it is registered. */
function fused(x: Tensor): boolean {
  return x.dtype === 'float32' && getBackend() === 'wasm';
}

export function reluGradOp(dy: Tensor, x: Tensor): Tensor {
  return engine().runKernel(RELU_GRAD_KERNEL, { dy, x }) as Tensor;
}

/**
 * Gradients that already carry a ReLU's mask, by the data of that ReLU's input: the max-pool
 * gradient below, when it pools a ReLU's output, and then the ReLU's gradient has nothing to do.
 */
const maskedFor = new WeakMap<Tensor, object>();

/**
 * Whether `dy` is the max-pool gradient below that already applied the mask of a ReLU whose
 * output is `y` (the fused convolution's: conv2d_bias_relu.ts).
 */
export function reluMaskAppliedBy(dy: Tensor, y: Tensor): boolean {
  return maskedFor.get(dy) === y.dataId;
}

/**
 * Gradient data that still owes a ReLU's mask, by the data of that ReLU's input, which is the
 * output y of a fused normalisation (normalize.ts): its gradient kernel multiplies dy by (y > 0)
 * in its own passes, and the ReLU's gradient has nothing to do. Keyed by data, not tensor:
 * between the two, tfjs may pass the gradient through clones (engine.clone's Cast), which this
 * package's aliasing Identity and Cast make tensors on the same data.
 */
const maskOwed = new WeakMap<object, object>();

/** Whether `dy` is a ReLU's gradient passed on without its mask, the ReLU's input being `y`. */
export function owesReluMask(dy: Tensor, y: Tensor): boolean {
  return maskOwed.get(dy.dataId) === y.dataId;
}

/**
 * Relu's gradient as tfjs-core registers it, except on wasm with float32, where it runs the
 * fused kernel; or nothing when dy is the max-pool gradient that already applied this ReLU's
 * mask, or when the ReLU's input is a fused normalisation's output that feeds nothing else,
 * whose gradient then applies the mask. Gradients are registered per kernel name, not per
 * backend, so every other case goes to the gradient it replaces (`previous`). Where the mask is
 * left to the normalisation, NaN in dy gives 0 where Step · Multiply gives NaN.
 */
export function reluGradientOver(previous: GradConfig): GradConfig {
  return {
    kernelName: Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const [x] = saved as Tensor[];
      const g = dy as Tensor;
      // An alias (the package's Identity), so the tape may dispose either tensor.
      if (fused(x!) && maskedFor.get(g) === x!.dataId) return { x: () => g.clone() };
      if (fused(x!) && normalizedOnTape(x!)) {
        return {
          x: () => {
            const owed = g.clone();
            maskOwed.set(owed.dataId, x!.dataId);
            return owed;
          },
        };
      }
      if (fused(x!)) return { x: () => reluGradOp(g, x!) };
      return previous.gradFunc(dy, saved, attrs);
    },
  };
}

/**
 * MaxPool's gradient as tfjs-core registers it, except where it pools the output of a ReLU
 * whose gradient the same backward pass computes next (on wasm, float32, first-order): then
 * one kernel passes dy only through windows whose maximum is > 0, which is dy · step(ReLU input)
 * at the winners, and the ReLU's gradient passes that on (above): one pass over the
 * activation instead of MaxPoolGrad's and the ReLU gradient's. Under an outer tape (gradients
 * of gradients) the unfused kernels run, whose own gradients are registered. With NaN
 * activations the fused path gives 0 where Step · Multiply gives NaN.
 */
export function maxPoolGradientOver(previous: GradConfig): GradConfig {
  return {
    kernelName: MaxPool,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const [x, y] = saved as Tensor[];
      const relu = fused(x!) ? poolsReluOnTape(x!) : undefined;
      if (relu === undefined) return previous.gradFunc(dy, saved, attrs);
      return {
        x: () => {
          const dx = engine().runKernel(MAX_POOL_GRAD_OF_RELU_KERNEL, { dy: dy as Tensor, input: x!, output: y! }, attrs) as Tensor;
          maskedFor.set(dx, relu);
          return dx;
        },
      };
    },
  };
}

/**
 * The key under which the gradient of the ReLU whose output is `x` looks for its mask, if that
 * ReLU is recorded on the gradient tape being walked: a Relu's input data, or the output data of
 * a fused convolution with ReLU; undefined under an outer tape or when `x` is no such output. The
 * tape holds every node of this pass, and a ReLU's output on the path to the loss is consumed by
 * that ReLU's gradient only (it cannot be one of the tensors the gradient is taken for).
 */
function poolsReluOnTape(x: Tensor): object | undefined {
  const state = engine().state;
  if (state.gradientDepth !== 0 || state.activeTape == null) return undefined;
  for (const node of state.activeTape) {
    if (node.outputs[0]?.dataId !== x.dataId) continue;
    if (node.kernelName === Relu) return node.inputs['x']?.dataId;
    if (node.kernelName === CONV2D_BIAS_RELU_KERNEL) return x.dataId;
  }
  return undefined;
}

/**
 * Whether `x`, a ReLU's input, is the output y of a fused normalisation recorded on the tape
 * being walked and feeds no other node (first-order gradients only): then the gradient the
 * normalisation receives for y is exactly this ReLU's, and it can apply the mask. Nodes that
 * output the same data (clones: aliases of y) pass it on rather than consume it; their
 * outputs' consumers count.
 */
function normalizedOnTape(x: Tensor): boolean {
  const state = engine().state;
  if (state.gradientDepth !== 0 || state.activeTape == null) return false;
  let normalized = false;
  let consumers = 0;
  for (const node of state.activeTape) {
    if (node.kernelName === NORMALIZE_KERNEL && node.outputs[0]?.dataId === x.dataId) normalized = true;
    const reads = Object.values(node.inputs).some((t) => t?.dataId === x.dataId);
    if (reads && !node.outputs.some((t) => t.dataId === x.dataId)) consumers++;
  }
  return normalized && consumers === 1;
}

/**
 * The fused kernel's own gradient, for second-order gradients (the leakage audit's): linear in dy
 * with the same mask, and step(x) has zero derivative, as for Step · Multiply.
 */
export const reluGradKernelGradient: GradConfig = {
  kernelName: RELU_GRAD_KERNEL,
  inputsToSave: ['x'],
  gradFunc: (ddx, saved) => {
    const [x] = saved as Tensor[];
    const d = ddx as Tensor;
    return {
      dy: () => (fused(x!) ? reluGradOp(d, x!) : mul(d, cast(step(x!), 'float32'))),
      x: () => zerosLike(x!),
    };
  },
};

