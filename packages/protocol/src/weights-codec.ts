import { z } from 'zod';
import { sizeOf, type NamedTensor, type TensorSpec } from './tensors';

/**
 * Binary container for a list of named float32 tensors:
 *   bytes 0..3   magic "FWW1"
 *   bytes 4..7   u32 LE length H of the header
 *   H bytes      UTF-8 JSON header {tensors:[{name,shape}]} (names and shapes only, never values)
 *   padding      zeros up to a multiple of 4
 *   payload      float32 little-endian values of every tensor, in header order
 * Values never go through JSON: a 10M-parameter model is 40 MB of floats, not 200 MB of text.
 */
const MAGIC = [0x46, 0x57, 0x57, 0x31]; // "FWW1"
const MAX_HEADER_BYTES = 1 << 20;

const headerSchema = z.object({
  tensors: z
    .array(
      z.object({
        name: z.string().min(1).max(256),
        shape: z.array(z.number().int().nonnegative()).max(8),
      }),
    )
    .max(10_000),
});

export class WeightsFormatError extends Error {
  override name = 'WeightsFormatError';
}

export function encodeWeights(tensors: readonly NamedTensor[]): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ tensors: tensors.map((t) => ({ name: t.name, shape: t.shape })) }),
  );
  const payloadOffset = align4(8 + header.length);
  let floats = 0;
  for (const t of tensors) {
    if (t.values.length !== sizeOf(t.shape)) {
      throw new WeightsFormatError(
        `tensor "${t.name}" has ${t.values.length} values but shape [${t.shape.join(',')}] needs ${sizeOf(t.shape)}`,
      );
    }
    floats += t.values.length;
  }
  const out = new Uint8Array(payloadOffset + floats * 4);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, 8);
  // Payload offset is 4-aligned and `out` is fresh, so a Float32Array view is aligned.
  // (Every platform we target is little-endian; decode checks that.)
  const payload = new Float32Array(out.buffer, payloadOffset, floats);
  let at = 0;
  for (const t of tensors) {
    payload.set(t.values, at);
    at += t.values.length;
  }
  return out;
}

/** Accepts the shapes Socket.io hands over: Node Buffer, Uint8Array, ArrayBuffer. */
export function toUint8Array(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new WeightsFormatError('weights must be binary (ArrayBuffer/Uint8Array), not ' + typeof data);
}

/**
 * `copy: false`: the values are views into `data` wherever its payload is 4-byte aligned (the
 * caller owns those bytes and leaves them alone while the tensors live); otherwise, and by
 * default, they are copied into a fresh buffer.
 */
export function decodeWeights(data: unknown, options: { copy?: boolean } = {}): NamedTensor[] {
  const bytes = toUint8Array(data);
  if (bytes.length < 8 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new WeightsFormatError('not a Fedward weights payload (bad magic bytes)');
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    throw new WeightsFormatError(`weights header length ${headerLength} does not fit the payload`);
  }
  let headerJson: unknown;
  try {
    headerJson = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new WeightsFormatError('weights header is not valid JSON');
  }
  const parsed = headerSchema.safeParse(headerJson);
  if (!parsed.success) throw new WeightsFormatError('weights header is malformed: ' + parsed.error.message);
  const payloadOffset = align4(8 + headerLength);
  const floats = parsed.data.tensors.reduce((n, t) => n + sizeOf(t.shape), 0);
  if (bytes.length !== payloadOffset + floats * 4) {
    throw new WeightsFormatError(
      `weights payload has ${bytes.length - payloadOffset} value bytes, header declares ${floats * 4}`,
    );
  }
  let all: Float32Array;
  if (options.copy === false && (bytes.byteOffset + payloadOffset) % 4 === 0) all = new Float32Array(bytes.buffer, bytes.byteOffset + payloadOffset, floats);
  else {
    // Copy into a fresh buffer: a Node Buffer from the socket may sit at an unaligned offset.
    all = new Float32Array(floats);
    new Uint8Array(all.buffer).set(bytes.subarray(payloadOffset));
  }
  let at = 0;
  return parsed.data.tensors.map((t) => {
    const n = sizeOf(t.shape);
    const values = all.subarray(at, at + n);
    at += n;
    return { name: t.name, shape: t.shape, values };
  });
}

/**
 * Checks names, shapes and finiteness (`finite: false`: names and shapes only); returns a message
 * naming the first problem, or null.
 */
export function checkWeightsAgainst(expected: readonly TensorSpec[], got: readonly NamedTensor[], options: { finite?: boolean } = {}): string | null {
  if (got.length !== expected.length) {
    return `expected ${expected.length} tensors, got ${got.length}`;
  }
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const g = got[i]!;
    if (g.name !== e.name) return `tensor ${i} should be "${e.name}", got "${g.name}"`;
    if (g.shape.length !== e.shape.length || g.shape.some((d, k) => d !== e.shape[k])) {
      return `tensor "${e.name}" should have shape [${e.shape.join(',')}], got [${g.shape.join(',')}]`;
    }
    if (options.finite === false) continue;
    const bad = firstNonFinite(g.values);
    if (bad >= 0) return `tensor "${e.name}" has a non-finite value (${g.values[bad]}) at index ${bad}`;
  }
  return null;
}

export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) return i;
  }
  return -1;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
