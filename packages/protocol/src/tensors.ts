/** A model parameter as it travels and is stored: a name, a shape and float32 values. */
export interface NamedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Shape-only description, used to check an update against the federation's model. */
export interface TensorSpec {
  name: string;
  shape: number[];
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function specOf(tensors: readonly NamedTensor[]): TensorSpec[] {
  return tensors.map((t) => ({ name: t.name, shape: [...t.shape] }));
}
