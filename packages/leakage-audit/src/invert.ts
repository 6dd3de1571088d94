import * as tf from '@tensorflow/tfjs';
import { matchingLoss, totalVariation } from './objective';
import { registerSecondOrderGradients } from './second-order';
import { normalizeImages, simulateLocalUpdate, type LocalTraining, type LocalUpdateSimulation, type SmallCnnParams } from './simulate';

/**
 * Inverting gradients (Geiping et al. 2020) against a weight update, as the seed configures it
 * (spec fl-secflow §3.3): optimise images x so that a simulated local training from the same global
 * model reproduces the observed Δ. R(x) = 1 − cos(Δ_sim(x), Δ) + α·TV(x); each iteration takes
 * sign(∇_x R) as the gradient of an Adam step, with the step size cut ×0.1 at 3/8, 5/8 and 7/8 of
 * the run (MultiStepLR), and clamps x to the valid pixel range [0, 1]; several restarts from random
 * images, keeping the one with the lowest final R.
 */
export interface InvertOptions {
  /** The global model's small-cnn tensors (the caller keeps and disposes them). */
  params: SmallCnnParams;
  /** The Δ the attacker sees, per tensor (the caller keeps and disposes them). */
  observed: readonly tf.Tensor[];
  labels: Int32Array;
  /** [N, H, W, C] of the images to reconstruct. */
  shape: [number, number, number, number];
  numClasses: number;
  training: LocalTraining;
  /**
   * The attacker's copy of the local training (default the small CNN's, simulateLocalUpdate);
   * simulate-vb's for small-cnn-vb (the PRECODE defence), with `params` that model's tensors.
   */
  simulate?: LocalUpdateSimulation;
  iterations: number;
  restarts: number;
  /** Adam step size in [0, 1] pixel units (default 0.03: the seed's 0.1 in units of its σ = 0.24). */
  learningRate?: number;
  /** α of the TV term (default 1e-2), taken on the model input (the normalised images). */
  tvWeight?: number;
  /** Seed of the random starting images (restart r uses seed + r). */
  seed?: number;
  /** Adam on sign(∇R) (default true, the seed's "signed: hard") or on ∇R itself. */
  signed?: boolean;
  /**
   * The homotopy (small CNN only): the attacker's simulation starts with smooth ReLUs and max
   * pools at this temperature t0 (smallCnnLogits) and cools linearly to the exact model, reached
   * at fraction `until` of each restart's iterations and kept for the rest, so that the final
   * objective, and the restart chosen by it, are the exact one's. Absent: exact throughout.
   */
  homotopy?: { temperature: number; until: number };
  /**
   * Starting images for every restart instead of random ones (flattened like `shape`): for the
   * diagnostic that starts next to the true images (diagnose.ts warmStartProbe), never an attack.
   */
  start?: Float32Array;
}

export interface InvertProgress {
  restart: number;
  iteration: number;
  iterations: number;
  /** R(x) before this iteration's step. */
  loss: number;
  /** Lowest final R of the restarts done so far (Infinity during the first). */
  bestLoss: number;
}

export interface InvertResult {
  /** The best restart's images, [N, H, W, C] flattened, in [0, 1]. */
  images: Float32Array;
  /** Its final R(x). */
  loss: number;
  /** Final R(x) of every restart. */
  restartLosses: number[];
  /** The best restart's random starting images (a baseline for the metrics). */
  initial: Float32Array;
}

/** R(x) = 1 − cos(Δ_sim(x), Δ) + α·TV(normalised x), the simulation at `temperature` (0: exact). */
export function attackObjective(x: tf.Tensor4D, o: Pick<InvertOptions, 'params' | 'observed' | 'labels' | 'numClasses' | 'training' | 'simulate'>, tvWeight: number, temperature = 0): tf.Scalar {
  if (temperature > 0 && o.simulate) throw new Error('the homotopy smooths the small CNN only, not a simulation passed in');
  const simulated = o.simulate ? o.simulate(o.params, x, o.labels, o.training) : simulateLocalUpdate(o.params, x, o.labels, o.training, o.numClasses, temperature);
  const tv = totalVariation(normalizeImages(x, o.training.normalization));
  return tf.add(matchingLoss(simulated, o.observed), tf.mul(tvWeight, tv));
}

/** The homotopy's temperature at `iteration` of `iterations`: t0 cooling linearly to 0 at `until`·I. */
export function homotopyTemperature(homotopy: InvertOptions['homotopy'], iteration: number, iterations: number): number {
  if (!homotopy) return 0;
  return homotopy.temperature * Math.max(0, 1 - iteration / (homotopy.until * iterations));
}

/** Step size at `iteration` of `iterations`: ×0.1 at ⌊I/2.667⌋, ⌊I/1.6⌋ and ⌊I/1.142⌋ (the seed's MultiStepLR). */
export function stepSize(base: number, iteration: number, iterations: number): number {
  const milestones = [iterations / 2.667, iterations / 1.6, iterations / 1.142].map(Math.floor);
  return base * 0.1 ** milestones.filter((m) => iteration >= m).length;
}

interface AdamState {
  x: tf.Tensor4D;
  m: tf.Tensor4D;
  v: tf.Tensor4D;
}

/**
 * One signed-gradient Adam step on x, boxed to [0, 1]; returns R before the step. Throws if R or
 * its gradient is not finite: clipping would silently turn NaN pixels into a blank image.
 */
export function signedAdamStep(state: AdamState, t: number, lr: number, objective: (x: tf.Tensor4D) => tf.Scalar, signed = true): { state: AdamState; loss: number } {
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  const next = tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad(objective)(state.x);
    const g = signed ? tf.sign(grad) : grad;
    const m = tf.add(tf.mul(beta1, state.m), tf.mul(1 - beta1, g)) as tf.Tensor4D;
    const v = tf.add(tf.mul(beta2, state.v), tf.mul(1 - beta2, tf.square(g))) as tf.Tensor4D;
    const mHat = tf.div(m, 1 - beta1 ** t);
    const vHat = tf.div(v, 1 - beta2 ** t);
    const x = tf.clipByValue(tf.sub(state.x, tf.mul(lr, tf.div(mHat, tf.add(tf.sqrt(vHat), eps)))), 0, 1) as tf.Tensor4D;
    // R and Σ∇R in one read: the sum is NaN or infinite when any component is.
    return { x, m, v, checks: tf.stack([value, tf.sum(grad)]) };
  });
  tf.dispose([state.x, state.m, state.v]);
  const [loss, gradientSum] = next.checks.dataSync() as Float32Array;
  next.checks.dispose();
  if (!Number.isFinite(loss!) || !Number.isFinite(gradientSum!)) {
    tf.dispose([next.x, next.m, next.v]);
    throw new Error(`the attack's objective or its gradient is not finite at step ${t} (R = ${loss}, Σ∇R = ${gradientSum}): the global model or the observed update holds NaN or values too large for float32`);
  }
  return { state: { x: next.x, m: next.m, v: next.v }, loss: loss! };
}

/**
 * Runs the attack, yielding after every iteration (like ModelEngine.trainEpoch yields per batch,
 * so a UI or worker can show progress and stay responsive); returns the best reconstruction.
 */
export async function* invert(options: InvertOptions): AsyncGenerator<InvertProgress, InvertResult> {
  registerSecondOrderGradients();
  const { iterations, restarts, shape } = options;
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new RangeError(`iterations must be a positive integer (got ${iterations})`);
  if (!(Number.isInteger(restarts) && restarts >= 1)) throw new RangeError(`restarts must be a positive integer (got ${restarts})`);
  if (options.labels.length !== shape[0]) throw new RangeError(`${options.labels.length} labels for ${shape[0]} images`);
  if (options.start && options.start.length !== shape.reduce((a, b) => a * b)) throw new RangeError(`a start of ${options.start.length} values for images ${shape.join('×')}`);
  const lr = options.learningRate ?? 0.03;
  const tvWeight = options.tvWeight ?? 1e-2;
  const seed = options.seed ?? 1;
  const { homotopy } = options;
  if (homotopy && !(homotopy.temperature > 0 && homotopy.until > 0 && homotopy.until <= 1)) throw new RangeError(`homotopy: a temperature > 0 and until in (0, 1] (got ${homotopy.temperature}, ${homotopy.until})`);
  if (homotopy && options.simulate) throw new RangeError('homotopy: for the small CNN only (not with another simulation such as small-cnn-vb\'s)');
  const objective = (x: tf.Tensor4D, temperature = 0) => attackObjective(x, options, tvWeight, temperature);
  let best: InvertResult | null = null;
  const restartLosses: number[] = [];
  for (let restart = 0; restart < restarts; restart++) {
    const x0 = (options.start ? tf.tensor4d(options.start, shape) : tf.randomUniform(shape, 0, 1, 'float32', seed + restart)) as tf.Tensor4D;
    const initial = Float32Array.from(x0.dataSync() as Float32Array);
    let state: AdamState = { x: x0, m: tf.zerosLike(x0), v: tf.zerosLike(x0) };
    for (let it = 0; it < iterations; it++) {
      const temperature = homotopyTemperature(homotopy, it, iterations);
      const step = signedAdamStep(state, it + 1, stepSize(lr, it, iterations), (x) => objective(x, temperature), options.signed ?? true);
      state = step.state;
      yield { restart, iteration: it + 1, iterations, loss: step.loss, bestLoss: best?.loss ?? Number.POSITIVE_INFINITY };
    }
    const finalLoss = tf.tidy(() => objective(state.x).dataSync()[0]!);
    restartLosses.push(finalLoss);
    if (!best || finalLoss < best.loss) best = { images: Float32Array.from(state.x.dataSync() as Float32Array), loss: finalLoss, restartLosses, initial };
    tf.dispose([state.x, state.m, state.v]);
  }
  return { ...best!, restartLosses };
}
