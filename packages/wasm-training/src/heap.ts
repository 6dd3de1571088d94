import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Float32 views straight onto the wasm backend's heap. Kernels that are pure
 * memory traffic (pooling gradients, reductions) run faster as a JS loop over
 * these views than as the backend's generic C++ loops or a chain of kernels,
 * and they copy nothing. Take views after allocating the output: allocation
 * can grow the heap, which detaches older views.
 */
export function allocate(backend: KernelBackend, shape: number[]): TensorInfo {
  return (backend as BackendWasm).makeOutput(shape, 'float32');
}

export function f32(backend: KernelBackend, t: TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return (backend as BackendWasm).typedArrayFromHeap(t) as Float32Array;
}

/** The bytes of a tensor of any dtype, straight onto the heap (the fused pool's int32-packed byte mask). */
export function bytes(backend: KernelBackend, t: TensorInfo): Uint8Array {
  const view = (backend as BackendWasm).typedArrayFromHeap(t);
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
