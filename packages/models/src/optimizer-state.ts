import type { OptimizerState } from './types';

/**
 * Pure helpers for the optimizer state (no TF.js): the seed's merge on a re-split and a compact
 * binary form for IndexedDB.
 */

export class OptimizerStateError extends Error {
  override name = 'OptimizerStateError';
}

/** Throws when the state is internally inconsistent (lengths of m/v/vmax, vmax iff amsgrad, names). */
export function checkOptimizerState(state: OptimizerState): void {
  if (!Number.isInteger(state.step) || state.step < 0) {
    throw new OptimizerStateError(`optimizer step must be a non-negative integer (got ${state.step})`);
  }
  const seen = new Set<string>();
  for (const s of state.slots) {
    if (seen.has(s.name)) throw new OptimizerStateError(`optimizer state names "${s.name}" twice`);
    seen.add(s.name);
    if (s.v.length !== s.m.length) {
      throw new OptimizerStateError(`optimizer slot "${s.name}": m has ${s.m.length} values, v has ${s.v.length}`);
    }
    if (state.amsgrad) {
      if (!s.vmax) throw new OptimizerStateError(`optimizer slot "${s.name}" lacks vmax although amsgrad is on`);
      if (s.vmax.length !== s.m.length) {
        throw new OptimizerStateError(`optimizer slot "${s.name}": m has ${s.m.length} values, vmax has ${s.vmax.length}`);
      }
    } else if (s.vmax) {
      throw new OptimizerStateError(`optimizer slot "${s.name}" has vmax although amsgrad is off`);
    }
  }
}

/**
 * What the seed does to a hospital's optimizers when VN changes (spec §1.5,
 * `split_virtual_client` L1028–1068): the element-wise MEAN over the old sub-clients of m, v and
 * vmax, with `step` copied from the LAST state. Every state must name the same tensors, in the
 * same order, with the same sizes and the same amsgrad setting; otherwise this throws.
 */
export function mergeOptimizerStates(states: readonly OptimizerState[]): OptimizerState {
  const last = states[states.length - 1];
  if (!last) throw new OptimizerStateError('mergeOptimizerStates needs at least one state');
  states.forEach(checkOptimizerState);
  states.forEach((s, k) => {
    if (s.amsgrad !== last.amsgrad) {
      throw new OptimizerStateError(`optimizer state ${k} has amsgrad=${s.amsgrad}, state ${states.length - 1} has amsgrad=${last.amsgrad}`);
    }
    if (s.slots.length !== last.slots.length) {
      throw new OptimizerStateError(`optimizer state ${k} has ${s.slots.length} tensors, state ${states.length - 1} has ${last.slots.length}`);
    }
    s.slots.forEach((slot, i) => {
      const ref = last.slots[i]!;
      if (slot.name !== ref.name) {
        throw new OptimizerStateError(`optimizer state ${k}, tensor ${i}: "${slot.name}", expected "${ref.name}"`);
      }
      if (slot.m.length !== ref.m.length) {
        throw new OptimizerStateError(`optimizer state ${k}, tensor "${slot.name}": ${slot.m.length} values, expected ${ref.m.length}`);
      }
    });
  });
  const n = states.length;
  const mean = (pick: (s: OptimizerState) => Float32Array): Float32Array => {
    const acc = new Float64Array(pick(last).length);
    for (const s of states) {
      const a = pick(s);
      for (let j = 0; j < acc.length; j++) acc[j]! += a[j]!;
    }
    const out = new Float32Array(acc.length);
    for (let j = 0; j < acc.length; j++) out[j] = acc[j]! / n;
    return out;
  };
  return {
    step: last.step,
    amsgrad: last.amsgrad,
    slots: last.slots.map((ref, i) => ({
      name: ref.name,
      m: mean((s) => s.slots[i]!.m),
      v: mean((s) => s.slots[i]!.v),
      ...(last.amsgrad && { vmax: mean((s) => s.slots[i]!.vmax!) }),
    })),
  };
}

/**
 * Binary container:
 *   bytes 0..3   magic "FWO1"
 *   bytes 4..7   u32 LE length H of the header
 *   H bytes      UTF-8 JSON {step, amsgrad, slots:[{name, length}]}
 *   padding      zeros up to a multiple of 4
 *   payload      float32 little-endian: per slot m, v, then vmax when amsgrad
 */
const MAGIC = [0x46, 0x57, 0x4f, 0x31]; // "FWO1"
const MAX_HEADER_BYTES = 1 << 20;
const align4 = (n: number): number => (n + 3) & ~3;

export function encodeOptimizerState(state: OptimizerState): Uint8Array {
  checkOptimizerState(state);
  const header = new TextEncoder().encode(
    JSON.stringify({ step: state.step, amsgrad: state.amsgrad, slots: state.slots.map((s) => ({ name: s.name, length: s.m.length })) }),
  );
  const perValue = state.amsgrad ? 3 : 2;
  const floats = state.slots.reduce((n, s) => n + s.m.length * perValue, 0);
  const payloadOffset = align4(8 + header.length);
  const out = new Uint8Array(payloadOffset + floats * 4);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, 8);
  const payload = new Float32Array(out.buffer, payloadOffset, floats); // fresh buffer: aligned
  let at = 0;
  for (const s of state.slots) {
    for (const a of state.amsgrad ? [s.m, s.v, s.vmax!] : [s.m, s.v]) {
      payload.set(a, at);
      at += a.length;
    }
  }
  return out;
}

export function decodeOptimizerState(bytes: Uint8Array): OptimizerState {
  if (bytes.length < 8 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new OptimizerStateError('not a Fedward optimizer state (bad magic bytes)');
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    throw new OptimizerStateError(`optimizer state header length ${headerLength} does not fit the payload`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new OptimizerStateError('optimizer state header is not valid JSON');
  }
  const h = header as { step?: unknown; amsgrad?: unknown; slots?: unknown };
  if (
    typeof h !== 'object' || h === null ||
    typeof h.step !== 'number' || typeof h.amsgrad !== 'boolean' || !Array.isArray(h.slots) ||
    !h.slots.every(
      (s: unknown) =>
        typeof s === 'object' && s !== null &&
        typeof (s as { name?: unknown }).name === 'string' &&
        Number.isInteger((s as { length?: unknown }).length) && ((s as { length: number }).length) >= 0,
    )
  ) {
    throw new OptimizerStateError('optimizer state header is malformed');
  }
  const slots = h.slots as { name: string; length: number }[];
  const amsgrad = h.amsgrad;
  const perValue = amsgrad ? 3 : 2;
  const floats = slots.reduce((n, s) => n + s.length * perValue, 0);
  const payloadOffset = align4(8 + headerLength);
  if (bytes.length !== payloadOffset + floats * 4) {
    throw new OptimizerStateError(`optimizer state has ${bytes.length - payloadOffset} value bytes, header declares ${floats * 4}`);
  }
  const all = new Float32Array(floats); // copy: the input may sit at an unaligned offset
  new Uint8Array(all.buffer).set(bytes.subarray(payloadOffset));
  let at = 0;
  const take = (n: number): Float32Array => all.subarray(at, (at += n));
  const state: OptimizerState = {
    step: h.step,
    amsgrad,
    slots: slots.map((s) => {
      const m = take(s.length);
      const v = take(s.length);
      return amsgrad ? { name: s.name, m, v, vmax: take(s.length) } : { name: s.name, m, v };
    }),
  };
  checkOptimizerState(state);
  return state;
}
