/**
 * Seeded generators of hostile inputs for the fuzz suite (issue 13). Everything here derives from
 * one 32-bit seed through mulberry32, so a failing case reproduces with FUZZ_SEED=<seed>.
 * Nothing here is security-related: the PRNG only chooses test inputs.
 */
import type { ZodType } from 'zod';
import { seededRandom } from '@fedward/models';

export type Rng = () => number;

/** mulberry32 (the models package's seeded PRNG): uniform in [0, 1). */
export const mulberry32: (seed: number) => Rng = seededRandom;

export const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;
export const chance = (rng: Rng, p: number): boolean => rng() < p;

export const MIB = 1024 * 1024;

/** {a:{a:{…}}} nested `depth` levels. */
export function deepObject(depth: number): unknown {
  let v: unknown = { leaf: 1 };
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

/** [[[…]]] nested `depth` levels. */
export function deepArray(depth: number): unknown {
  let v: unknown = [1];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Own "__proto__" / "constructor" keys, as JSON.parse makes them (an object literal would set the prototype instead). */
export const pollution = (): unknown => JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}');

/** One hostile value: numbers, strings, binary, containers and nesting that no field of the protocol accepts everywhere. */
export function hostileValue(rng: Rng): unknown {
  const kind = int(rng, 9);
  switch (kind) {
    case 0:
      return pick(rng, [NaN, Infinity, -Infinity, 1e308, -1e308, -1, -0, 0, 0.5, 1e-308, 2 ** 31, 2 ** 32, 2 ** 53 + 2, -(2 ** 53), 1e21, Number.MIN_VALUE, -Number.MAX_VALUE]);
    case 1: {
      const huge = chance(rng, 0.04);
      if (huge) return 'x'.repeat(MIB); // 1 MiB
      return pick(rng, ['', ' ', 'x', '1', '0', '-1', 'NaN', 'Infinity', 'true', 'null', '__proto__', 'constructor', 'cpu ', 'CPU', 'webgpu\u0000', '\u0000', '\u202e\u200b𝕏😀', '%00', '../../etc/passwd', '{"a":1}', '<script>alert(1)</script>', 'a'.repeat(65 * 1024), '\n[info] forged log line']);
    }
    case 2:
      return pick(rng, [true, false, null, undefined]);
    case 3:
      return pick(rng, [[], [1, 2, 3], [null], ['cpu'], new Array(10_000).fill(0), [[[]]], [{}]]);
    case 4:
      return pick(rng, [{}, { a: 1 }, { length: 3 }, { toString: 'x' }, { valueOf: 1 }, { type: 'Buffer', data: [1, 2, 3] }, pollution()]);
    case 5:
      return pick(rng, [deepObject(50), deepObject(2_000), deepArray(2_000)]);
    case 6:
      // Binary where numbers or strings are expected.
      return pick(rng, [new Uint8Array(0), new Uint8Array([1, 2, 3]), Buffer.from('cpu'), new ArrayBuffer(8), new Float32Array([NaN, Infinity]), new Uint8Array(64 * 1024)]);
    case 7:
      return pick(rng, [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 1_000_000_001, 2 ** 40, -(2 ** 40), 4_294_967_296]);
    default:
      return pick(rng, [1, 2, 0, 'cpu', 'training', 1.5, -0.5]);
  }
}

/** What Socket.io puts on the wire: JSON (non-finite numbers become null, undefined members vanish) with binary kept. */
export function toWire(v: unknown, depth = 0): unknown {
  if (depth > 200) return v; // deeper than any schema looks; nothing there changes the verdict
  if (v === undefined) return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return v;
  const withJson = v as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return toWire(withJson.toJSON(), depth + 1);
  if (Array.isArray(v)) return v.map((x) => { const w = toWire(x, depth + 1); return w === undefined ? null : w; });
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const w = toWire(x, depth + 1);
    if (w !== undefined && typeof x !== 'function') Object.defineProperty(out, k, { value: w, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A short, printable description of an input (huge strings, binary and deep nesting summarised). */
export function preview(v: unknown, budget = 160): string {
  const seen = (x: unknown, depth: number): string => {
    if (depth > 4) return '…';
    if (x === undefined) return 'undefined';
    if (typeof x === 'number') return Object.is(x, -0) ? '-0' : String(x);
    if (typeof x === 'string') return x.length > 40 ? `${JSON.stringify(x.slice(0, 12))}…(len=${x.length})` : JSON.stringify(x);
    if (typeof x === 'function') return 'fn';
    if (x === null || typeof x !== 'object') return String(x);
    if (x instanceof ArrayBuffer) return `ArrayBuffer(${x.byteLength})`;
    if (ArrayBuffer.isView(x)) return `${x.constructor.name}(${x.byteLength}B)`;
    if (Array.isArray(x)) {
      if (x.length > 8) return `[${x.slice(0, 3).map((y) => seen(y, depth + 1)).join(',')},…](len=${x.length})`;
      return `[${x.map((y) => seen(y, depth + 1)).join(',')}]`;
    }
    const d = nesting(x);
    if (d > 8) return `{a:{a:…}}(depth=${d})`;
    return `{${Object.entries(x).map(([k, y]) => `${k}:${seen(y, depth + 1)}`).join(',')}}`;
  };
  const s = seen(v, 0);
  return s.length > budget ? `${s.slice(0, budget)}…` : s;
}

function nesting(x: unknown): number {
  let d = 0;
  let cur = x;
  while (cur && typeof cur === 'object' && d < 100_000) {
    const vals = Object.values(cur as object);
    if (vals.length !== 1) break;
    cur = vals[0];
    d += 1;
  }
  return d;
}

/** How a case calls `emit`: the lead's rule is that the server takes the LAST function argument as the ack. */
export type ArgShape =
  | 'msg+ack' // emit(event, msg, ack)
  | 'msg+extra+ack' // emit(event, msg, extra, ack)
  | 'msg+3extras+ack' // emit(event, msg, 1, 'two', {three: 3}, ack)
  | 'ack-only' // emit(event, ack): no payload at all
  | 'msg-only'; // emit(event, msg): no ack

export interface FuzzCase {
  event: string;
  index: number;
  shape: ArgShape;
  msg: unknown;
  extra?: unknown[];
  /** 'error': the wire form fails the event's schema, so the ack must be { ok: false, error }; 'any': a well-formed ack either way. */
  expect: 'error' | 'any';
  what: string;
}

export interface EventSpec {
  event: string;
  schema: ZodType;
  /** A message the schema accepts (extra fields get added to it for the "valid + extras" cases). */
  valid: Record<string, unknown>;
  /** Field-specific hostile values worth trying besides the generic ones. */
  special?: Record<string, unknown[]>;
}

const isValid = (schema: ZodType, msg: unknown): boolean => schema.safeParse(toWire(msg)).success;

/** One mutated message: 1–3 mutations of the valid one, or a wholly wrong value. */
function mutate(rng: Rng, spec: EventSpec): { msg: unknown; what: string } {
  if (chance(rng, 0.12)) {
    const v = chance(rng, 0.3) ? pick(rng, [[spec.valid], [spec.valid, spec.valid], JSON.stringify(spec.valid), { msg: spec.valid }]) : hostileValue(rng);
    return { msg: v, what: 'whole message replaced' };
  }
  const msg: Record<string, unknown> = { ...spec.valid };
  const keys = Object.keys(spec.valid).concat(Object.keys(spec.special ?? {}).filter((k) => !(k in spec.valid)));
  const whats: string[] = [];
  const n = 1 + int(rng, 3);
  for (let i = 0; i < n; i++) {
    const op = int(rng, 10);
    const key = pick(rng, keys);
    if (op < 6) {
      const specials = spec.special?.[key];
      msg[key] = specials && chance(rng, 0.5) ? pick(rng, specials) : hostileValue(rng);
      whats.push(`set ${key}`);
    } else if (op < 8) {
      delete msg[key];
      whats.push(`drop ${key}`);
    } else {
      const extraKey = pick(rng, ['extra', '__proto__', 'constructor', 'prototype', '', ' ', 'k'.repeat(1000), '\u0000', 'round ']);
      Object.defineProperty(msg, extraKey, { value: hostileValue(rng), enumerable: true, writable: true, configurable: true });
      whats.push(`add ${JSON.stringify(extraKey.slice(0, 12))}`);
    }
  }
  return { msg, what: whats.join(', ') };
}

const SHAPES_NORMAL: ArgShape[] = ['msg+ack'];
const SHAPES_ODD: ArgShape[] = ['msg+extra+ack', 'msg+3extras+ack', 'ack-only'];

/**
 * `n` seeded cases for one event. `odd` picks the argument shapes the server gets wrong today
 * (extra arguments, no payload); otherwise every case is emit(event, msg, ack), plus a few with no ack.
 */
export function casesFor(seed: number, spec: EventSpec, n: number, odd: boolean, hasAck = true): FuzzCase[] {
  // Each event gets its own stream, so adding cases to one event leaves the others' inputs unchanged.
  let h = seed >>> 0;
  for (const ch of spec.event + (odd ? '#odd' : '')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const rng = mulberry32(h);
  const out: FuzzCase[] = [];
  for (let index = 0; out.length < n; index++) {
    let shape: ArgShape = odd ? pick(rng, SHAPES_ODD) : pick(rng, SHAPES_NORMAL);
    if (!hasAck) shape = 'msg-only';
    else if (!odd && index % 15 === 14) shape = 'msg-only';
    if (shape === 'ack-only') {
      out.push({ event: spec.event, index, shape, msg: undefined, expect: 'error', what: 'no payload' });
      continue;
    }
    // Every 10th normal case: a valid message with extra fields (may be answered ok).
    if (!odd && index % 10 === 9) {
      const msg = { ...spec.valid, extra: hostileValue(rng), ['x'.repeat(1 + int(rng, 50))]: hostileValue(rng) };
      out.push({ event: spec.event, index, shape, msg, expect: isValid(spec.schema, msg) ? 'any' : 'error', what: 'valid + extra fields' });
      continue;
    }
    let m = mutate(rng, spec);
    for (let tries = 0; tries < 20 && isValid(spec.schema, m.msg); tries++) m = mutate(rng, spec);
    const extra = shape === 'msg+extra+ack' ? [hostileValue(rng)] : shape === 'msg+3extras+ack' ? [1, 'two', { three: 3 }] : undefined;
    out.push({ event: spec.event, index, shape, msg: m.msg, ...(extra && { extra }), expect: isValid(spec.schema, m.msg) ? 'any' : 'error', what: m.what });
  }
  return out;
}

/** Fixed edge cases every event gets, whatever the seed. */
export function fixedCasesFor(spec: EventSpec, hasAck = true): FuzzCase[] {
  const values: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['number', 42],
    ['NaN', NaN],
    ['string', 'hello'],
    ['1 MiB string', 'x'.repeat(MIB)],
    ['empty object', {}],
    ['empty array', []],
    ['array of the valid message', [spec.valid]],
    ['binary', new Uint8Array([1, 2, 3, 4])],
    ['deep object (3000)', deepObject(3_000)],
    ['deep array (3000)', deepArray(3_000)],
    ['prototype pollution keys', pollution()],
    ...Object.keys(spec.valid).flatMap((k): [string, unknown][] => [
      [`${k}: NaN`, { ...spec.valid, [k]: NaN }],
      [`${k}: 1e308`, { ...spec.valid, [k]: 1e308 }],
      [`${k}: -1e308`, { ...spec.valid, [k]: -1e308 }],
      [`${k}: binary`, { ...spec.valid, [k]: new Uint8Array([7]) }],
      [`${k}: 1 MiB string`, { ...spec.valid, [k]: 'y'.repeat(MIB) }],
      [`${k}: missing`, Object.fromEntries(Object.entries(spec.valid).filter(([j]) => j !== k))],
    ]),
  ];
  return values.map(([what, msg], index) => ({
    event: spec.event,
    index: -1 - index,
    shape: hasAck ? 'msg+ack' : 'msg-only',
    msg,
    expect: isValid(spec.schema, msg) ? 'any' : 'error',
    what: `fixed: ${what}`,
  }));
}

/**
 * Raw socket.io packets (the payload of an engine.io "message", i.e. without its leading "4") that
 * the socket.io parser must refuse (the server closes the connection) or the server must ignore.
 */
export const RAW_PACKETS: string[] = [
  '',
  '2',
  '2[',
  '2{}',
  '2[]',
  '2[1]',
  '2[null]',
  '2["hello"',
  '2["hello"]',
  '21["hello"]',
  '2-1["hello",{}]',
  '2999999999999999999999["hello",{}]',
  '2["hello",{"_placeholder":true,"num":0}]',
  '2["hello",{"backend":"cpu","trainSamples":10,"testSamples":5},{"_placeholder":true,"num":0}]',
  '51-["update-chunk",{"round":1,"index":0,"data":{"_placeholder":true,"num":0}}]',
  '599999-["update-chunk",{"round":1,"index":0,"data":{"_placeholder":true,"num":99999}}]',
  '2/admin,["create-token",{"hospital":"intruder"}]',
  '2/admin,1["create-token",{"hospital":"intruder"}]',
  '2/nope,["hello",{}]',
  '0/admin,{"password":123}',
  '0/admin,{"session":{"$ne":null}}',
  '0/nope,',
  '0',
  '1',
  '3["x"]',
  '37["x"]',
  '4"oops"',
  '9[]',
  'x',
  '2["constructor",{}]',
  '2["__proto__",{}]',
  '2["toString",{}]',
  '2["disconnect"]',
  '2["connect"]',
  `2["${'e'.repeat(10_000)}",{}]`,
  `2${'['.repeat(5_000)}`,
  '2["hello",' + '{"a":'.repeat(3_000) + '1' + '}'.repeat(3_000) + ']',
];

/** Raw engine.io packets (straight onto the websocket): unknown types, empty, close, upgrade out of turn. */
export const RAW_ENGINE_PACKETS: string[] = ['', 'x', '7', '9', '4', '1', '2probe', '3probe', '5', '6', '0{"sid":"forged"}', '\u0000'];
