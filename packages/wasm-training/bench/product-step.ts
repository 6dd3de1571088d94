import * as tf from '@tensorflow/tfjs';
// The product's optimizer, from its own source: @fedward/models depends on this package (for its
// tests), so the bench reaches it by path rather than as a dependency.
import { AdamOptimizer } from '../../models/src/adam';
import { FUSED_ADAM_KERNEL } from '../src/kernels/adam_update';
import type { BenchModel } from './models';

/**
 * A training step as the product runs it (@fedward/models' LayersEngine.trainEpoch): loss and
 * gradients by tf.variableGrads, then AdamOptimizer.apply, which runs the fused Adam kernel
 * (FedwardAdamUpdate) where the backend has it (this package registers it for wasm) and the
 * same arithmetic op by op elsewhere. Adam without AMSGrad, lr 1e-3, as the PyTorch twin.
 * `step()` returns the loss; `fused` says whether the fused kernel runs on this backend.
 */
export function productTrainer(model: tf.LayersModel, spec: BenchModel, x: tf.Tensor, y: tf.Tensor): {
  step(): tf.Scalar;
  fused: boolean;
  dispose(): void;
} {
  const params = model.trainableWeights.map((w) => {
    const variable = w.read();
    if (!(variable instanceof tf.Variable)) throw new Error(`weight ${w.name} is not backed by a tf.Variable`);
    return { name: variable.name, variable };
  });
  const varList = params.map((p) => p.variable);
  const optimizer = new AdamOptimizer(params);
  return {
    step: () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => spec.loss(y, model.apply(x, { training: true }) as tf.Tensor), varList);
      optimizer.apply(new Map(Object.entries(grads)), 1e-3, false);
      return value;
    }),
    fused: tf.getKernel(FUSED_ADAM_KERNEL, tf.getBackend()) !== undefined,
    dispose: () => optimizer.dispose(),
  };
}
