/** Byte helpers shared by the modules: encodings, comparisons and the CSPRNG. */

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/**
 * An unambiguous encoding of a list of strings: each field is a 4-byte big-endian length followed by
 * its UTF-8 bytes. Used for HKDF info and GCM associated data, where plain concatenation would let
 * ("ab", "c") and ("a", "bc") collide and so let one pair's key serve another.
 */
export function encodeFields(fields: readonly string[]): Uint8Array<ArrayBuffer> {
  const parts = fields.map(utf8);
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Equality of two byte strings. Not constant-time: only ever used on public values (public keys). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** The big-endian unsigned integer a byte string encodes. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + toHex(bytes));
}

/** `value` as exactly `length` big-endian bytes; throws if it is negative or does not fit. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array<ArrayBuffer> {
  if (value < 0n || value >> BigInt(8 * length) !== 0n) {
    throw new RangeError(`bigIntToBytes: value does not fit in ${length} bytes`);
  }
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** `length` bytes from the platform CSPRNG (getRandomValues fills at most 65,536 bytes a call). */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
}

/**
 * A view WebCrypto accepts. Its typings want ArrayBuffer-backed views; a caller's Uint8Array may sit
 * on a SharedArrayBuffer (or be typed as if it could), so copy in that case and pass it through
 * otherwise.
 */
export function bufferOf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}

export function isBytes(value: unknown, length?: number): value is Uint8Array {
  return value instanceof Uint8Array && (length === undefined || value.length === length);
}
