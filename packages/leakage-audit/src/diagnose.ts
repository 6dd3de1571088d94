import * as tf from '@tensorflow/tfjs';
import { attackObjective, invert, type InvertOptions } from './invert';
import { matchMoments, psnr } from './metrics';
import { registerSecondOrderGradients } from './second-order';
import { normalizeImages, simulateLocalUpdate, type LocalTraining, type LocalUpdateSimulation, type SmallCnnParams } from './simulate';

/**
 * Why an inversion fails: which pixels the update Δ depends on at all.
 *
 * In the small CNN every path from a pixel to the loss runs through two 2×2 max pools and a
 * global max pool, so each of the 16 conv2 channels passes back the gradient of ONE position per
 * image; a pixel outside the receptive fields of those few argmax paths (and of ReLUs that are
 * on) does not move Δ: ∂Δ/∂x is exactly zero there, and no attack can recover it from Δ beyond
 * what its prior (TV, the value range) fills in. We measure that set with the gradients of random
 * projections r·Δ (a Jacobian row space sample: a pixel with a nonzero Jacobian column has a
 * nonzero r·J for almost every r).
 *
 * Taken with respect to the MODEL INPUT (the zscore-normalised image), not the raw pixels: the
 * zscore's mean and sd involve every pixel, so raw ∂Δ/∂x is nonzero everywhere through those two
 * numbers, which carry no picture.
 *
 * Then whether the attack is limited by what Δ determines or by its optimisation: R at the true
 * images (against R reached), and the same attack started next to them (warmStartProbe).
 */

/**
 * max over `projections` random r of |∂(Σ r·f(u))/∂u| per element of u: zero exactly where no
 * output of f depends on that element (to first order). f returns the tensors whose joint
 * dependence on u is measured (Δ per weight tensor).
 */
export function projectedSensitivity(f: (u: tf.Tensor4D) => tf.Tensor[], u: tf.Tensor4D, projections: number, seed: number): Float32Array {
  const out = new Float32Array(u.size);
  for (let p = 0; p < projections; p++) {
    const g = tf.tidy(() => {
      const grad = tf.grad((v: tf.Tensor) => {
        const outputs = f(v as tf.Tensor4D);
        return outputs.reduce<tf.Scalar>((s, t, i) => tf.add(s, tf.sum(tf.mul(t, tf.randomNormal(t.shape, 0, 1, 'float32', seed + 1000 * p + i)))), tf.scalar(0));
      })(u);
      return tf.abs(grad).dataSync() as Float32Array;
    });
    for (let k = 0; k < out.length; k++) out[k] = Math.max(out[k]!, g[k]!);
  }
  return out;
}

/** The pixels with a sensitivity above `threshold` (default 0: influenced at all), as a 0/1 mask. */
export function influenceMask(sensitivity: ArrayLike<number>, threshold = 0): Uint8Array {
  return Uint8Array.from({ length: sensitivity.length }, (_, k) => (sensitivity[k]! > threshold ? 1 : 0));
}

/** Fraction of ones in a 0/1 mask. */
export function maskFraction(mask: ArrayLike<number>): number {
  let n = 0;
  for (let k = 0; k < mask.length; k++) n += mask[k]!;
  return n / mask.length;
}

/** PSNR over the pixels where mask is `which` (NaN when there are none). A diagnostic, not a headline. */
export function maskedPsnr(a: ArrayLike<number>, b: ArrayLike<number>, mask: ArrayLike<number>, which: 0 | 1): number {
  const pa: number[] = [];
  const pb: number[] = [];
  for (let k = 0; k < mask.length; k++)
    if (mask[k] === which) {
      pa.push(a[k]!);
      pb.push(b[k]!);
    }
  return pa.length === 0 ? Number.NaN : psnr(pa, pb);
}

export interface DiagnoseInput {
  params: SmallCnnParams;
  /** The hospital's images [N, H, W, 1] in [0, 1], flattened. */
  x: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
  numClasses: number;
  training: LocalTraining;
  /** The attacker's simulation the attack used (default the small CNN's; see InvertOptions.simulate). */
  simulate?: LocalUpdateSimulation;
  /** The Δ the attacker inverted (for the objective at the truth). */
  observed: readonly tf.Tensor[];
  /** The attack's best reconstruction and its random start, flattened like x. */
  reconstruction: Float32Array;
  initial: Float32Array;
  /** Objective the attack reached, and its TV weight (to evaluate R at the originals). */
  attackLoss: number;
  tvWeight: number;
  projections?: number;
  seed?: number;
}

export interface ImageDiagnosis {
  /** Fraction of pixels whose (normalised) value moves Δ at all. */
  influencedFraction: number;
  /** PSNR of the moment-matched reconstruction on the influenced / other pixels (diagnostic). */
  psnrInfluenced: number;
  psnrOther: number;
  /** The same for the random start (what the attack added over chance, per region). */
  psnrInfluencedStart: number;
  psnrOtherStart: number;
  /**
   * A ceiling for an attack that recovered every influenced pixel exactly and put the image's
   * mean (which matchMoments gives it) elsewhere: what Δ can reveal at most without a better prior.
   */
  psnrCeiling: number;
  /** The original's mean everywhere: a reconstruction that knows nothing but the moments scores about this. */
  psnrMeanOnly: number;
}

export interface Diagnosis {
  images: ImageDiagnosis[];
  /** R at the true images: if the attack's R is as low, Δ cannot tell them apart (identifiability, not optimisation). */
  objectiveAtTruth: number;
  objectiveReached: number;
  /** Δ's dimension and the unknown pixels: fewer equations than unknowns leaves a family of solutions. */
  parameters: number;
  pixels: number;
}

/** The measurements above for one attack; see DiagnoseInput. */
export function diagnose(d: DiagnoseInput): Diagnosis {
  registerSecondOrderGradients();
  const [n, h, w, c] = d.shape;
  const area = h * w * c;
  const sensitivity = tf.tidy(() => {
    const u = normalizeImages(tf.tensor4d(d.x, d.shape), d.training.normalization);
    // 'unit': the input is already normalised, so the simulation sees exactly the hospital's input.
    const training: LocalTraining = { ...d.training, normalization: 'unit' };
    const simulate: LocalUpdateSimulation = d.simulate ?? ((p, v, l, t) => simulateLocalUpdate(p, v, l, t, d.numClasses));
    return projectedSensitivity((v) => simulate(d.params, v, d.labels, training), u, d.projections ?? 8, d.seed ?? 7);
  });
  const mask = influenceMask(sensitivity);
  const images = Array.from({ length: n }, (_, i): ImageDiagnosis => {
    const range = [i * area, (i + 1) * area] as const;
    const original = d.x.subarray(...range);
    const m = mask.subarray(...range);
    const rec = matchMoments(d.reconstruction.subarray(...range), original);
    const start = matchMoments(d.initial.subarray(...range), original);
    const mean = original.reduce((a, b) => a + b, 0) / area;
    const ceiling = original.map((v, k) => (m[k] ? v : mean));
    return {
      influencedFraction: maskFraction(m),
      psnrInfluenced: maskedPsnr(rec, original, m, 1),
      psnrOther: maskedPsnr(rec, original, m, 0),
      psnrInfluencedStart: maskedPsnr(start, original, m, 1),
      psnrOtherStart: maskedPsnr(start, original, m, 0),
      psnrCeiling: psnr(ceiling, original),
      psnrMeanOnly: psnr(new Float32Array(area).fill(mean), original),
    };
  });
  const objectiveAtTruth = tf.tidy(() => attackObjective(tf.tensor4d(d.x, d.shape), d, d.tvWeight).dataSync()[0]!);
  return { images, objectiveAtTruth, objectiveReached: d.attackLoss, parameters: d.params.reduce((s, p) => s + p.size, 0), pixels: n * area };
}

export interface WarmStartProbe {
  /** PSNR (moment-matched) per image of the start (the truth plus noise) and of where the attack ends. */
  startPsnr: number[];
  endPsnr: number[];
  /** R at the start and at the end. */
  startLoss: number;
  endLoss: number;
}

/**
 * The attack started NEXT TO the answer: the true images plus Gaussian noise of std `noise`
 * (seeded), clipped to [0, 1], with the attack's own settings and one restart. If it walks away
 * from the truth (end PSNR well below start) while R falls, Δ has better-fitting images nearby
 * and the objective has no basin around the truth that an attack from a random start could find.
 */
export async function warmStartProbe(o: Omit<InvertOptions, 'start' | 'restarts'> & { x: Float32Array; noise: number }): Promise<WarmStartProbe> {
  const [n, h, w, c] = o.shape;
  const area = h * w * c;
  const start = tf.tidy(() => tf.clipByValue(tf.add(tf.tensor4d(o.x, o.shape), tf.randomNormal(o.shape, 0, o.noise, 'float32', o.seed ?? 1)), 0, 1).dataSync() as Float32Array);
  const run = invert({ ...o, restarts: 1, start });
  let step = await run.next();
  let startLoss = Number.NaN;
  while (!step.done) {
    if (step.value.iteration === 1) startLoss = step.value.loss;
    step = await run.next();
  }
  const end = step.value.images;
  const per = (images: Float32Array) =>
    Array.from({ length: n }, (_, i) => {
      const original = o.x.subarray(i * area, (i + 1) * area);
      return psnr(matchMoments(images.subarray(i * area, (i + 1) * area), original), original);
    });
  return { startPsnr: per(start), endPsnr: per(end), startLoss, endLoss: step.value.loss };
}
