/**
 * Payload size of a message as a compact binary encoding would carry it: typed arrays by their bytes,
 * strings by their UTF-8 bytes, numbers as 8 bytes, object keys and framing not counted (they are
 * the same few bytes whatever the model size). Used for the bandwidth figures of the simulator and the
 * benchmark.
 */
import { utf8 } from './bytes';

export function wireBytes(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string') return utf8(value).length;
  if (typeof value === 'number') return 8;
  if (typeof value === 'boolean') return 1;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((n: number, v: unknown) => n + wireBytes(v), 0);
  if (value instanceof Map) {
    let n = 0;
    for (const [k, v] of value) n += wireBytes(k) + wireBytes(v);
    return n;
  }
  if (typeof value === 'object') return Object.values(value).reduce((n: number, v: unknown) => n + wireBytes(v), 0);
  throw new TypeError(`wireBytes: cannot size a ${typeof value}`);
}
