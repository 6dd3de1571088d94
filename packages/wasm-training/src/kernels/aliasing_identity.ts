import { Cast, Identity } from '@tensorflow/tfjs';
import type { CastAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { WasmOps } from '../wasm_ops';

/**
 * Identity, and Cast to the tensor's own dtype, as an alias of the input's
 * data (reference count + 1), as the cpu and webgl backends do. The wasm
 * kernels copy the whole buffer, and every ReLU gradient (dy · cast(step(x)))
 * pays for a full-size copy that way.
 */
function alias(x: TensorInfo, backend: WasmOps['backend']): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

export function aliasingIdentityOver(original: KernelConfig): KernelConfig {
  const identity = (args: { inputs: { x: TensorInfo }; backend: WasmOps['backend'] }) =>
    alias(args.inputs.x, args.backend);
  return { ...original, kernelName: Identity, kernelFunc: identity as unknown as KernelFunc };
}

export function aliasingCastOver(original: KernelConfig): KernelConfig {
  const cast = (args: { inputs: { x: TensorInfo }; backend: WasmOps['backend']; attrs: CastAttrs }) =>
    args.inputs.x.dtype === args.attrs.dtype
      ? alias(args.inputs.x, args.backend)
      : original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  return { ...original, kernelName: Cast, kernelFunc: cast as unknown as KernelFunc };
}
