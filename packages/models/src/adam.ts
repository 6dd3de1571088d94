import * as tf from '@tensorflow/tfjs';
import { FUSED_ADAM_KERNEL } from './fused-adam';
import type { FusedAdamAttrs } from './fused-adam';
import { OptimizerStateError, checkOptimizerState } from './optimizer-state';
import type { OptimizerState } from './types';

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPSILON = 1e-8;

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
  vmax: tf.Variable | null;
}

/**
 * Adam / AMSGrad exactly as torch.optim.Adam (weight_decay 0, maximize off), with state that can
 * be exported and re-imported (tf.train.adam has no AMSGrad and no clean state export):
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  AMSGrad: vmax ← max(vmax, v), v̂ = vmax, else v̂ = v
 *   θ ← θ − lr/(1−β1^t) · m / (sqrt(v̂)/sqrt(1−β2^t) + ε)
 * One `t` for the whole model (torch keeps one per tensor; they are equal when every tensor gets a
 * gradient at every step). Slots live in non-trainable tf.Variables on the active backend.
 */
export class AdamOptimizer {
  private step = 0;
  private slots: Map<string, Slot> | null = null;
  private amsgrad = true;

  /** `params`: the trainable variables under their public (getWeights) names. */
  constructor(private readonly params: readonly { name: string; variable: tf.Variable }[]) {}

  /**
   * Applies one update from `grads` (keyed by public name; a missing gradient leaves that tensor
   * and its slots untouched, as torch does for `grad is None`). Call inside tf.tidy.
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, learningRate: number, amsgrad: boolean): void {
    this.ensureSlots(amsgrad);
    this.step += 1;
    const t = this.step;
    const bc1 = 1 - ADAM_BETA1 ** t;
    const bc2Sqrt = Math.sqrt(1 - ADAM_BETA2 ** t);
    const attrs: FusedAdamAttrs = {
      beta1: ADAM_BETA1,
      oneMinusBeta1: 1 - ADAM_BETA1,
      beta2: ADAM_BETA2,
      oneMinusBeta2: 1 - ADAM_BETA2,
      stepSize: learningRate / bc1,
      invBc2Sqrt: 1 / bc2Sqrt,
      epsilon: ADAM_EPSILON,
    };
    const fused = tf.getKernel(FUSED_ADAM_KERNEL, tf.getBackend()) !== undefined;
    const scalars = fused ? null : stepScalars(attrs);
    for (const { name, variable } of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      const slot = this.slots!.get(name)!;
      const [param, m, v, vmax] = scalars === null ? fusedStep(variable, g, slot, attrs) : opByOpStep(variable, g, slot, scalars);
      variable.assign(param);
      slot.m.assign(m);
      slot.v.assign(v);
      if (slot.vmax) slot.vmax.assign(vmax!);
    }
  }

  getState(): OptimizerState | null {
    if (!this.slots) return null;
    return {
      step: this.step,
      amsgrad: this.amsgrad,
      slots: this.params.map(({ name }) => {
        const s = this.slots!.get(name)!;
        const m = Float32Array.from(s.m.dataSync() as Float32Array);
        const v = Float32Array.from(s.v.dataSync() as Float32Array);
        return s.vmax ? { name, m, v, vmax: Float32Array.from(s.vmax.dataSync() as Float32Array) } : { name, m, v };
      }),
    };
  }

  setState(state: OptimizerState | null): void {
    if (state === null) {
      this.disposeSlots();
      this.step = 0;
      return;
    }
    checkOptimizerState(state);
    if (state.slots.length !== this.params.length) {
      throw new OptimizerStateError(`model has ${this.params.length} tensors, optimizer state has ${state.slots.length}`);
    }
    const byName = new Map(state.slots.map((s) => [s.name, s]));
    for (const { name, variable } of this.params) {
      const s = byName.get(name);
      if (!s) throw new OptimizerStateError(`optimizer state lacks tensor "${name}"`);
      if (s.m.length !== variable.size) {
        throw new OptimizerStateError(`optimizer state for "${name}" has ${s.m.length} values, the tensor has ${variable.size}`);
      }
    }
    this.disposeSlots();
    const slots = new Map<string, Slot>();
    for (const { name, variable } of this.params) {
      const s = byName.get(name)!;
      // Copy: on cpu a tensor would alias the caller's array.
      const make = (a: Float32Array) => tf.tidy(() => tf.variable(tf.tensor(a.slice(), variable.shape, 'float32'), false));
      slots.set(name, { m: make(s.m), v: make(s.v), vmax: state.amsgrad ? make(s.vmax!) : null });
    }
    this.slots = slots;
    this.step = state.step;
    this.amsgrad = state.amsgrad;
  }

  dispose(): void {
    this.disposeSlots();
  }

  /** Zero slots on the first step; AMSGrad switched on later starts vmax at zero (torch's init). */
  private ensureSlots(amsgrad: boolean): void {
    const zeros = (v: tf.Variable) => tf.tidy(() => tf.variable(tf.zerosLike(v), false));
    if (!this.slots) {
      this.slots = new Map(
        this.params.map(({ name, variable }) => [name, { m: zeros(variable), v: zeros(variable), vmax: amsgrad ? zeros(variable) : null }]),
      );
      this.step = 0;
    } else if (amsgrad !== this.amsgrad) {
      for (const { name, variable } of this.params) {
        const slot = this.slots.get(name)!;
        if (amsgrad && !slot.vmax) slot.vmax = zeros(variable);
        if (!amsgrad && slot.vmax) {
          slot.vmax.dispose();
          slot.vmax = null;
        }
      }
    }
    this.amsgrad = amsgrad;
  }

  private disposeSlots(): void {
    if (!this.slots) return;
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
      s.vmax?.dispose();
    }
    this.slots = null;
  }
}

type StepResult = [param: tf.Tensor, m: tf.Tensor, v: tf.Tensor, vmax?: tf.Tensor];

/** One tensor's step in the backend's fused kernel (see fused-adam.ts). */
function fusedStep(param: tf.Tensor, grad: tf.Tensor, slot: Slot, attrs: FusedAdamAttrs): StepResult {
  const inputs: Record<string, tf.Tensor> = { param, grad, m: slot.m, v: slot.v };
  if (slot.vmax) inputs['vmax'] = slot.vmax;
  return tf.engine().runKernel(FUSED_ADAM_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as StepResult;
}

type StepScalars = { [K in keyof FusedAdamAttrs]: tf.Scalar };

function stepScalars(attrs: FusedAdamAttrs): StepScalars {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, tf.scalar(v)])) as StepScalars;
}

/** The same step op by op, on any backend. */
function opByOpStep(param: tf.Tensor, g: tf.Tensor, slot: Slot, a: StepScalars): StepResult {
  const m = tf.add(tf.mul(slot.m, a.beta1), tf.mul(g, a.oneMinusBeta1));
  const v = tf.add(tf.mul(slot.v, a.beta2), tf.mul(tf.square(g), a.oneMinusBeta2));
  const vmax = slot.vmax ? tf.maximum(slot.vmax, v) : undefined;
  const denom = tf.add(tf.mul(tf.sqrt(vmax ?? v), a.invBc2Sqrt), a.epsilon);
  const next = tf.sub(param, tf.mul(tf.div(m, denom), a.stepSize));
  return vmax ? [next, m, v, vmax] : [next, m, v];
}
