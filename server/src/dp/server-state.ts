import type { NamedTensor } from '@fedward/protocol';
import type { ServerState } from './types';

/**
 * Binary form of a ServerState, for a SQLite BLOB next to the round's weights:
 *   bytes 0..3   magic "FWS1"
 *   bytes 4..7   u32 LE length H of the header
 *   H bytes      UTF-8 JSON {rounds, clip, adam: {tensors: [{name, shape}]} | null}
 *   padding      zeros up to a multiple of 4
 *   payload      float32 LE: every Adam m tensor in order, then every v tensor
 * Floats never go through JSON, and the Adam moments come back bit for bit. `clip` is a JSON
 * number (float64, exact).
 */
const MAGIC = [0x46, 0x57, 0x53, 0x31]; // "FWS1"

interface Header {
  rounds: number;
  clip: number | null;
  adam: { tensors: { name: string; shape: number[] }[] } | null;
}

const align4 = (n: number) => (n + 3) & ~3;
const size = (shape: readonly number[]) => shape.reduce((p, s) => p * s, 1);

export class ServerStateFormatError extends Error {
  override name = 'ServerStateFormatError';
}

export function encodeServerState(state: ServerState): Uint8Array {
  const header: Header = {
    rounds: state.rounds,
    clip: state.clip,
    adam: state.adam ? { tensors: state.adam.m.map((t) => ({ name: t.name, shape: [...t.shape] })) } : null,
  };
  const tensors: NamedTensor[] = state.adam ? [...state.adam.m, ...state.adam.v] : [];
  if (state.adam) {
    if (state.adam.v.length !== state.adam.m.length) throw new ServerStateFormatError('Adam m and v differ in tensor count');
    state.adam.v.forEach((t, i) => {
      if (t.values.length !== state.adam!.m[i]!.values.length) throw new ServerStateFormatError(`Adam m and v differ in size at tensor ${i}`);
    });
  }
  for (const t of tensors) {
    if (t.values.length !== size(t.shape)) throw new ServerStateFormatError(`tensor "${t.name}" has ${t.values.length} values for shape [${t.shape.join(',')}]`);
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const offset = align4(8 + json.length);
  const floats = tensors.reduce((n, t) => n + t.values.length, 0);
  const out = new Uint8Array(offset + floats * 4);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  let at = offset;
  for (const t of tensors) {
    for (let k = 0; k < t.values.length; k++, at += 4) view.setFloat32(at, t.values[k]!, true);
  }
  return out;
}

/** Accepts a Node Buffer (what better-sqlite3 returns for a BLOB), a Uint8Array or an ArrayBuffer. */
export function decodeServerState(data: Uint8Array | ArrayBuffer): ServerState {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < 8 || MAGIC.some((m, i) => bytes[i] !== m)) throw new ServerStateFormatError('not a Fedward server state (bad magic bytes)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) throw new ServerStateFormatError(`header length ${headerLength} does not fit in ${bytes.length} bytes`);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Header;
  } catch {
    throw new ServerStateFormatError('server state header is not JSON');
  }
  if (!Number.isInteger(header.rounds) || header.rounds < 0) throw new ServerStateFormatError(`bad round count ${String(header.rounds)}`);
  if (header.clip !== null && typeof header.clip !== 'number') throw new ServerStateFormatError('bad clip');
  const specs = header.adam?.tensors ?? [];
  const offset = align4(8 + headerLength);
  const floats = specs.reduce((n, t) => n + size(t.shape), 0);
  if (bytes.length !== offset + 2 * floats * 4) {
    throw new ServerStateFormatError(`payload is ${bytes.length - offset} bytes, the header describes ${2 * floats * 4}`);
  }
  let at = offset;
  const read = (): NamedTensor[] =>
    specs.map((s) => {
      const values = new Float32Array(size(s.shape));
      for (let k = 0; k < values.length; k++, at += 4) values[k] = view.getFloat32(at, true);
      return { name: s.name, shape: [...s.shape], values };
    });
  const m = read();
  const v = read();
  return { rounds: header.rounds, clip: header.clip, adam: header.adam ? { m, v } : null };
}
