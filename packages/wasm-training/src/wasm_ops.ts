import { getKernel } from '@tensorflow/tfjs';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

/**
 * Runs the wasm backend's own (XNNPACK / C++) kernels from inside another
 * kernel, and frees every intermediate it made. Composing through the kernel
 * registry rather than importing tfjs-backend-wasm internals keeps this
 * package working against the backend's public surface only.
 */
export class WasmOps {
  private readonly temps: TensorInfo[] = [];

  constructor(readonly backend: KernelBackend) {}

  run(kernelName: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: object = {}): TensorInfo {
    const kernel = getKernel(kernelName, 'wasm');
    if (kernel === undefined) throw new Error(`wasm kernel ${kernelName} is not registered`);
    const out = kernel.kernelFunc({
      inputs: inputs as Record<string, TensorInfo>,
      backend: this.backend,
      attrs: attrs as NamedAttrMap,
    });
    if (Array.isArray(out)) throw new Error(`wasm kernel ${kernelName} returned several outputs`);
    this.temps.push(out);
    return out;
  }

  /** Takes ownership of a tensor allocated elsewhere, to free it in `finish`. */
  adopt(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Pads with zeros where `pads` is positive and crops where it is negative. */
  padOrCrop(x: TensorInfo, pads: ReadonlyArray<readonly [number, number]>): TensorInfo {
    let out = x;
    if (pads.some(([a, b]) => a < 0 || b < 0)) {
      const begin = pads.map(([a]) => Math.max(0, -a));
      const size = pads.map(([a, b], i) => (out.shape[i] ?? 0) - Math.max(0, -a) - Math.max(0, -b));
      out = this.run('Slice', { x: out }, { begin, size });
    }
    if (pads.some(([a, b]) => a > 0 || b > 0)) {
      const paddings = pads.map(([a, b]) => [Math.max(0, a), Math.max(0, b)]);
      out = this.run('PadV2', { x: out }, { paddings, constantValue: 0 });
    }
    return out;
  }

  /**
   * Inserts `stride - 1` zeros between neighbouring pixels of an NHWC tensor
   * (the "fractionally strided" input of a transposed convolution). Done as
   * reshape + pad so that it runs in the wasm PadV2 kernel, not in JS. The
   * result keeps `stride - 1` trailing zero rows/columns; callers crop them.
   */
  dilateSpatial(x: TensorInfo, strideH: number, strideW: number): TensorInfo {
    if (strideH === 1 && strideW === 1) return x;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const spread = this.reshape(x, [n, h, 1, w, 1, c]);
    const padded = this.run('PadV2', { x: spread }, {
      paddings: [[0, 0], [0, 0], [0, strideH - 1], [0, 0], [0, strideW - 1], [0, 0]],
      constantValue: 0,
    });
    return this.reshape(padded, [n, h * strideH, w * strideW, c]);
  }

  /** Hands `result` to the caller and frees every other intermediate. */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.temps) {
      if (t !== result) this.backend.disposeData(t.dataId);
    }
    this.temps.length = 0;
    return result;
  }
}

/** Splits signed paddings into the crop part (≤ 0) and the pad part (≥ 0). */
export function splitPads(pads: ReadonlyArray<readonly [number, number]>): {
  crop: Array<[number, number]>;
  pad: Array<[number, number]>;
} {
  return {
    crop: pads.map(([a, b]) => [Math.min(0, a), Math.min(0, b)]),
    pad: pads.map(([a, b]) => [Math.max(0, a), Math.max(0, b)]),
  };
}
