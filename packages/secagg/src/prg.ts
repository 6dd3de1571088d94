/**
 * Mask expansion: the AES-256-CTR keystream of a 32-byte key, counter block starting at 0, read as
 * little-endian uint32 words. WebCrypto runs it natively on every platform (AES-NI where there is one).
 *
 * The key is always a full 32-byte secret (an HKDF output or the random self-mask key b), never a
 * short seed. The keystream is produced by encrypting zeros, in chunks so a 1M+ word mask never needs
 * one giant WebCrypto call; chunk i starts at counter block i·(chunk blocks), so the output does not
 * depend on the chunk size.
 */
import { subtle } from './webcrypto';
import { bufferOf, isBytes } from './bytes';

/** Words per WebCrypto call: 4 MiB of keystream. A multiple of 4, so chunks start on block boundaries. */
export const PRG_CHUNK_WORDS = 1 << 20;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

let zeros = new Uint8Array(0);
/** A shared all-zero plaintext (WebCrypto copies its input, so it is never modified). */
function zeroBytes(length: number): Uint8Array<ArrayBuffer> {
  if (zeros.length < length) zeros = new Uint8Array(length);
  return zeros.subarray(0, length);
}

function checkArgs(key: Uint8Array, length: number, chunkWords: number, where: string): void {
  if (!isBytes(key, 32)) throw new RangeError(`${where}: the key must be 32 bytes`);
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`${where}: length ${length} must be a non-negative integer`);
  if (!Number.isInteger(chunkWords) || chunkWords < 4 || chunkWords % 4 !== 0) {
    throw new RangeError(`${where}: chunkWords ${chunkWords} must be a positive multiple of 4`);
  }
}

/**
 * Calls `consume(offset, words)` with consecutive pieces of the keystream. `words` is only valid
 * during the call.
 */
async function keystream(
  key: Uint8Array,
  length: number,
  chunkWords: number,
  consume: (offset: number, words: Uint32Array) => void,
): Promise<void> {
  const aes = await subtle().importKey('raw', bufferOf(key), { name: 'AES-CTR' }, false, ['encrypt']);
  for (let offset = 0; offset < length; offset += chunkWords) {
    const words = Math.min(chunkWords, length - offset);
    // The counter block is a 128-bit big-endian integer; its low 64 bits count (offset / 4 words per block).
    const counter = new Uint8Array(16);
    new DataView(counter.buffer).setBigUint64(8, BigInt(offset / 4));
    const stream = await subtle().encrypt(
      { name: 'AES-CTR', counter, length: 64 },
      aes,
      zeroBytes(4 * words),
    );
    let view: Uint32Array;
    if (LITTLE_ENDIAN) {
      view = new Uint32Array(stream, 0, words);
    } else {
      const dv = new DataView(stream);
      view = new Uint32Array(words);
      for (let i = 0; i < words; i++) view[i] = dv.getUint32(4 * i, true);
    }
    consume(offset, view);
  }
}

/** The first `length` words of the key's keystream. */
export async function prg(key: Uint8Array, length: number, chunkWords = PRG_CHUNK_WORDS): Promise<Uint32Array> {
  checkArgs(key, length, chunkWords, 'prg');
  const out = new Uint32Array(length);
  await keystream(key, length, chunkWords, (offset, words) => out.set(words, offset));
  return out;
}

/**
 * acc += sign·PRG(key) (mod 2^32), in place: what masking and unmasking do, without allocating a
 * second full-length vector per key.
 */
export async function addPrgInto(
  acc: Uint32Array,
  key: Uint8Array,
  sign: 1 | -1,
  chunkWords = PRG_CHUNK_WORDS,
): Promise<Uint32Array> {
  checkArgs(key, acc.length, chunkWords, 'addPrgInto');
  await keystream(key, acc.length, chunkWords, (offset, words) => {
    const n = words.length;
    if (sign === 1) {
      for (let i = 0; i < n; i++) acc[offset + i] = ((acc[offset + i] as number) + (words[i] as number)) >>> 0;
    } else {
      for (let i = 0; i < n; i++) acc[offset + i] = ((acc[offset + i] as number) - (words[i] as number)) >>> 0;
    }
  });
  return acc;
}
