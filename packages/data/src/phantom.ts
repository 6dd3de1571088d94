/**
 * A CT-like phantom: a noisy body ellipse with soft texture and an inner
 * low-density structure, optionally with a small bright lesion. Pure maths on
 * typed arrays (no DOM, no fs) so the browser, Node simulators and tests can
 * all render slices in memory.
 *
 * Geometry lives in normalised image units: x and y span [-1, 1] across the
 * field of view, z is along the patient. A patient is one volume; neighbouring
 * slices of a patient are cuts of that volume at nearby z.
 */
import { createRng, type Rng } from './random';

/** HU of air; also the floor of what a CT scanner stores. */
export const AIR_HU = -1000;
const MIN_STORED_HU = -1024;
const MAX_STORED_HU = 3071;

export interface PhantomLesion {
  x: number;
  y: number;
  z: number;
  /** In-plane radius at the lesion's centre. */
  radius: number;
  /** Half extent along z; cross-sections shrink towards it. */
  halfDepth: number;
  /** HU added on top of the surrounding tissue. */
  contrastHu: number;
}

export interface PhantomVolume {
  body: { cx: number; cy: number; rx: number; ry: number; angle: number; hu: number; taperPerZ: number };
  inner: { rx: number; ry: number; hu: number };
  texture: Array<{ fx: number; fy: number; phase: number; amplitudeHu: number }>;
  lesion: PhantomLesion | null;
  /** Vessels: constant cross-section along z (empty for the easy task). */
  mimics: Array<{ x: number; y: number; radius: number; contrastHu: number }>;
}

/** How one hospital's scanner distorts the true anatomy. */
export interface ScannerSettings {
  /** Calibration drift: observed HU = true HU × scale + offset. */
  intensityScale: number;
  intensityOffsetHu: number;
  /** Standard deviation of the additive Gaussian noise, HU. */
  noiseSigmaHu: number;
  /** Gaussian blur sigma as a fraction of the image width (resolution loss). */
  blurSigmaFraction: number;
  /** >1 means a wider field of view, so the body appears smaller. */
  fieldOfViewScale: number;
}

export const IDEAL_SCANNER: ScannerSettings = {
  intensityScale: 1,
  intensityOffsetHu: 0,
  noiseSigmaHu: 10,
  blurSigmaFraction: 0,
  fieldOfViewScale: 1,
};

export interface PhantomSlice {
  size: number;
  /** Row-major HU values as the scanner would report them. */
  hu: Float32Array;
  /** Row-major lesion mask (1 inside the lesion's cross-section). */
  mask: Uint8Array;
  /** Whether the cut intersects the lesion. */
  hasLesion: boolean;
}

/** What a lesion looks like: the ranges its size and contrast are drawn from. */
export interface LesionLook {
  /** In-plane radius at the centre, in normalised image units (the field of view spans 2). */
  radius: readonly [number, number];
  /** HU added on top of the surrounding tissue. */
  contrastHu: readonly [number, number];
  /**
   * Lesion mimics in every patient, lesion or not: thin bright vessels running along z, seen as
   * small dots in each cut. A detector must tell them from a lesion by size and shape, not brightness.
   */
  mimics?: { count: readonly [number, number]; radius: readonly [number, number]; contrastHu: readonly [number, number] };
}

/** Large, bright lesions: a task a small CNN solves in one round. */
export const OBVIOUS_LESIONS: LesionLook = { radius: [0.16, 0.22], contrastHu: [130, 190] };
/** Smaller lesions of lower contrast, among vessels as bright as they are. */
export const SUBTLE_LESIONS: LesionLook = {
  radius: [0.11, 0.16],
  contrastHu: [80, 130],
  mimics: { count: [1, 3], radius: [0.04, 0.07], contrastHu: [90, 160] },
};

export interface SampleVolumeOptions {
  withLesion: boolean;
  /** Default OBVIOUS_LESIONS. */
  lesions?: LesionLook;
  /** z offsets (relative to the lesion centre) that must show the lesion clearly. */
  sliceOffsets?: readonly number[];
}

/** Draws a random patient volume. */
export function samplePhantomVolume(rng: Rng, options: SampleVolumeOptions): PhantomVolume {
  const rx = rng.uniform(0.62, 0.8);
  const ry = rng.uniform(0.5, 0.66);
  const body = {
    cx: rng.uniform(-0.06, 0.06),
    cy: rng.uniform(-0.06, 0.06),
    rx,
    ry,
    angle: rng.uniform(-0.25, 0.25),
    hu: rng.uniform(30, 50),
    taperPerZ: rng.uniform(-0.3, 0.3),
  };
  const inner = { rx: rx * rng.uniform(0.18, 0.26), ry: ry * rng.uniform(0.18, 0.26), hu: rng.uniform(-90, -40) };
  const texture = Array.from({ length: 3 }, () => ({
    fx: rng.uniform(0.8, 3),
    fy: rng.uniform(0.8, 3),
    phase: rng.uniform(0, 2 * Math.PI),
    amplitudeHu: rng.uniform(3, 7),
  }));
  let lesion: PhantomLesion | null = null;
  if (options.withLesion) {
    // Lesion sits between the inner structure and the body edge.
    const theta = rng.uniform(0, 2 * Math.PI);
    const rho = rng.uniform(0.42, 0.55);
    const look = options.lesions ?? OBVIOUS_LESIONS;
    const radius = rng.uniform(look.radius[0], look.radius[1]);
    const maxOffset = Math.max(0, ...(options.sliceOffsets ?? [0]).map(Math.abs));
    lesion = {
      x: rho * rx * Math.cos(theta),
      y: rho * ry * Math.sin(theta),
      z: 0,
      radius,
      // Outermost requested slice still cuts ≥ 80% of the radius (|dz| ≤ 0.6 halfDepth).
      halfDepth: Math.max(radius, maxOffset / 0.6),
      contrastHu: rng.uniform(look.contrastHu[0], look.contrastHu[1]),
    };
  }
  // Drawn after everything else, so a look without mimics gives the same volumes as before they existed.
  const mimicLook = (options.lesions ?? OBVIOUS_LESIONS).mimics;
  const mimics: PhantomVolume['mimics'] = [];
  if (mimicLook) {
    const count = Math.floor(rng.uniform(mimicLook.count[0], mimicLook.count[1] + 1));
    for (let i = 0; i < count; i++) {
      const theta = rng.uniform(0, 2 * Math.PI);
      const rho = rng.uniform(0.35, 0.75);
      mimics.push({
        x: rho * rx * Math.cos(theta),
        y: rho * ry * Math.sin(theta),
        radius: rng.uniform(mimicLook.radius[0], mimicLook.radius[1]),
        contrastHu: rng.uniform(mimicLook.contrastHu[0], mimicLook.contrastHu[1]),
      });
    }
  }
  return { body, inner, texture, lesion, mimics };
}

/** Radius of the lesion's cross-section at height z, or 0 when the cut misses it. */
export function lesionRadiusAt(lesion: PhantomLesion, z: number): number {
  const t = (z - lesion.z) / lesion.halfDepth;
  return t >= 1 || t <= -1 ? 0 : lesion.radius * Math.sqrt(1 - t * t);
}

/** True anatomy (no scanner effects) at a point in body-centred coordinates. */
function anatomyHu(volume: PhantomVolume, x: number, y: number, z: number): number {
  const { body, inner } = volume;
  const taper = 1 + body.taperPerZ * z;
  const cos = Math.cos(body.angle);
  const sin = Math.sin(body.angle);
  const bx = x * cos + y * sin;
  const by = -x * sin + y * cos;
  const bodyR = (bx / (body.rx * taper)) ** 2 + (by / (body.ry * taper)) ** 2;
  if (bodyR > 1) return AIR_HU;
  let hu = body.hu;
  for (const t of volume.texture) hu += t.amplitudeHu * Math.sin(Math.PI * (t.fx * bx + t.fy * by) + t.phase + z);
  if ((bx / inner.rx) ** 2 + (by / inner.ry) ** 2 <= 1) hu = inner.hu;
  for (const m of volume.mimics) if ((bx - m.x) ** 2 + (by - m.y) ** 2 <= m.radius * m.radius) hu = body.hu + m.contrastHu;
  const lesion = volume.lesion;
  if (lesion) {
    const r = lesionRadiusAt(lesion, z);
    if (r > 0 && (bx - lesion.x) ** 2 + (by - lesion.y) ** 2 <= r * r) hu = body.hu + lesion.contrastHu;
  }
  return hu;
}

function gaussianBlur(values: Float32Array, size: number, sigma: number): Float32Array {
  const radius = Math.ceil(sigma * 3);
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    kernel[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] = (kernel[i] ?? 0) / sum;
  const clamp = (v: number): number => (v < 0 ? 0 : v >= size ? size - 1 : v);
  const tmp = new Float32Array(values.length);
  const out = new Float32Array(values.length);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) acc += (kernel[k + radius] ?? 0) * (values[y * size + clamp(x + k)] ?? 0);
      tmp[y * size + x] = acc;
    }
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) acc += (kernel[k + radius] ?? 0) * (tmp[clamp(y + k) * size + x] ?? 0);
      out[y * size + x] = acc;
    }
  return out;
}

export interface RenderSliceOptions {
  volume: PhantomVolume;
  /** Height of the cut, in the volume's z units. */
  z: number;
  /** Output is size × size pixels. */
  size: number;
  scanner?: ScannerSettings;
  /** Seeds the scanner noise of this particular slice. */
  noiseKey: string;
}

/** Renders one axial cut of a phantom volume as a scanner would see it. */
export function renderPhantomSlice(options: RenderSliceOptions): PhantomSlice {
  const { volume, z, size } = options;
  const scanner = options.scanner ?? IDEAL_SCANNER;
  const fov = scanner.fieldOfViewScale;
  const cx = volume.body.cx;
  const cy = volume.body.cy;
  const clean = new Float32Array(size * size);
  const mask = new Uint8Array(size * size);
  const lesion = volume.lesion;
  const lesionR = lesion ? lesionRadiusAt(lesion, z) : 0;
  const cos = Math.cos(volume.body.angle);
  const sin = Math.sin(volume.body.angle);
  // 2×2 supersampling keeps the small lesion's edge from aliasing at 32 px.
  const offsets = [0.25, 0.75];
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      let acc = 0;
      for (const oy of offsets)
        for (const ox of offsets) {
          const x = (((col + ox) / size) * 2 - 1) * fov - cx;
          const y = (((row + oy) / size) * 2 - 1) * fov - cy;
          acc += anatomyHu(volume, x, y, z);
        }
      clean[row * size + col] = acc / 4;
      if (lesion && lesionR > 0) {
        const x = (((col + 0.5) / size) * 2 - 1) * fov - cx;
        const y = (((row + 0.5) / size) * 2 - 1) * fov - cy;
        const bx = x * cos + y * sin - lesion.x;
        const by = -x * sin + y * cos - lesion.y;
        if (bx * bx + by * by <= lesionR * lesionR) mask[row * size + col] = 1;
      }
    }
  }
  const sigmaPx = scanner.blurSigmaFraction * size;
  const blurred = sigmaPx >= 0.05 ? gaussianBlur(clean, size, sigmaPx) : clean;
  const rng = createRng(`noise:${options.noiseKey}`);
  const hu = new Float32Array(size * size);
  for (let i = 0; i < hu.length; i++) {
    const observed =
      (blurred[i] ?? AIR_HU) * scanner.intensityScale + scanner.intensityOffsetHu + scanner.noiseSigmaHu * rng.normal();
    hu[i] = Math.min(MAX_STORED_HU, Math.max(MIN_STORED_HU, observed));
  }
  return { size, hu, mask, hasLesion: lesionR > 0 };
}
