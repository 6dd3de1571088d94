/**
 * An optional fused kernel for one Adam / AMSGrad step of one tensor, which a backend package may
 * register for its backend (packages/wasm-training does, for 'wasm'). AdamOptimizer uses it where
 * the active backend has it and otherwise runs the same arithmetic op by op; the kernel must give
 * the same float32 result to the bit (each operation rounded on its own, in this order):
 *   m' = m·beta1 + g·oneMinusBeta1;  v' = v·beta2 + (g·g)·oneMinusBeta2;  v̂ = max(vmax, v') or v';
 *   param' = param − (m' / (sqrt(v̂)·invBc2Sqrt + epsilon))·stepSize.
 * Inputs {param, grad, m, v, vmax?} (vmax only for AMSGrad); outputs [param', m', v', vmax'?].
 * Op by op, that is a dozen kernels each reading and writing the whole tensor.
 */
export const FUSED_ADAM_KERNEL = 'FedwardAdamUpdate';

export interface FusedAdamAttrs {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  stepSize: number;
  invBc2Sqrt: number;
  epsilon: number;
}
