/**
 * A model parameter as a hospital sends it: TF.js layer weight name, TF.js shape, float32 values in
 * row-major order. Structurally identical to the wire format, so callers pass their tensors directly.
 */
export interface NamedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}
