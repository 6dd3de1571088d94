import * as tf from '@tensorflow/tfjs';
import { fusedNormalizeOutputs } from './norm';

type BatchNormArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;

/**
 * tf.layers' BatchNormalization (γ, β, moving statistics: VGG-slim's norm) whose training pass
 * runs the fused NORMALIZE_KERNEL where the backend has it (wasm, with @fedward/wasm-training):
 *   y = γ·(x − μ)·rsqrt(σ² + ε) + β, biased batch variance, and the moving statistics updated
 *   as tf.layers does, m ← m − (m − μ)·(1 − momentum), the same for σ².
 * Why: tf.layers differentiates tf.moments and the batchNorm op op by op, about 20 kernels and
 * 10 full passes over the activation per norm in each direction; the fused kernel and its
 * gradient take two passes each way, and γ, β cost a broadcast multiply and add.
 * The layer stays a `BatchNormalization` (class, config and weight names unchanged, so
 * serialisation, ONNX export, FedBN and PFA see no difference); evaluation (training false)
 * and backends without the kernel run tf.layers' own code.
 */
export function batchNormalizationLayer(args: BatchNormArgs): tf.layers.Layer {
  const layer = tf.layers.batchNormalization(args);
  // tf.layers' own values, defaults included.
  const { axis, epsilon, momentum } = layer.getConfig() as { axis: number; epsilon: number; momentum: number };
  const weight = (role: string) => layer.weights.find((w) => w.originalName.endsWith(`/${role}`));
  const call = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    // The kernel normalises per channel of the last axis.
    if (kwargs['training'] !== true || x.rank < 2 || (axis !== -1 && axis !== x.rank - 1)) return call(inputs, kwargs);
    return tf.tidy(() => {
      const fused = fusedNormalizeOutputs(x, 0, epsilon);
      if (fused === null) return call(inputs, kwargs);
      const [y, rstd] = fused;
      const gamma = weight('gamma');
      const beta = weight('beta');
      let out = gamma ? tf.mul(y, gamma.read()) : y;
      if (beta) out = tf.add(out, beta.read());
      // The moving statistics: nothing on the loss's path, so the tape does not differentiate them.
      const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
      const mean = tf.mean(x, axes);
      const variance = tf.sub(tf.reciprocal(tf.square(rstd)), epsilon);
      for (const [role, value] of [['moving_mean', mean], ['moving_variance', variance]] as const) {
        const v = weight(role);
        if (v === undefined) throw new Error(`BatchNormalization "${layer.name}" has no ${role}`);
        const old = v.read();
        v.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - momentum)));
      }
      return out;
    });
  };
  return layer;
}
