/**
 * The WebAssembly SIMD ceiling of this machine: a hand-assembled module whose one function
 * `madd(iterations: i32, a: f32, b: f32): f32` runs `accumulators` independent chains of
 * acc ← acc·a + b on f32x4 vectors (`f32x4.relaxed_madd`, one fused multiply-add where the CPU
 * has FMA; or f32x4.mul + f32x4.add without relaxed SIMD), `unroll` times per loop iteration,
 * and returns the sum of every lane (so that nothing is dead). 8 FLOPs per vector madd; the
 * product depends on the chain, so that the engine cannot hoist it out of the loop. The
 * benchmark page runs it in one worker per thread and reports the FLOP/s of all together: the
 * most any wasm kernel can reach on this machine and engine. No compiler needed: the bytes are
 * written here.
 */
export interface CeilingKernel {
  relaxed: boolean;
  accumulators: number;
  unroll: number;
}

/** FLOPs of one loop iteration. */
export const flopsPerIteration = (k: CeilingKernel): number => k.accumulators * k.unroll * 8;

/** Variants the page tries (the best one on one thread is the ceiling): enough chains to cover FMA latency × ports. */
export const ceilingVariants = (relaxed: boolean): CeilingKernel[] => [
  { relaxed, accumulators: 8, unroll: 6 },
  { relaxed, accumulators: 10, unroll: 5 },
  { relaxed, accumulators: 12, unroll: 4 },
];

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const SIMD = 0xfd;
const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  f32x4Splat: [SIMD, ...uleb(0x13)],
  f32x4ExtractLane: (lane: number) => [SIMD, ...uleb(0x1f), lane],
  f32x4Add: [SIMD, ...uleb(0xe4)],
  f32x4Mul: [SIMD, ...uleb(0xe6)],
  f32x4RelaxedMadd: [SIMD, ...uleb(0x105)],
  f32Add: [0x92],
  i32Const: (v: number) => [0x41, ...uleb(v)], // small non-negative values only
  i32Sub: [0x6b],
  loop: [0x03, 0x40],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  end: [0x0b],
};

/** The module's bytes. */
export function ceilingModule(k: CeilingKernel): Uint8Array<ArrayBuffer> {
  // Locals: 0 iterations, 1 a, 2 b (params); 3 va, 4 vb, 5… accumulators.
  const va = 3;
  const vb = 4;
  const acc = (i: number) => 5 + i;
  const body: number[] = [
    ...op.localGet(1), ...op.f32x4Splat, ...op.localSet(va),
    ...op.localGet(2), ...op.f32x4Splat, ...op.localSet(vb),
    ...op.loop,
  ];
  for (let u = 0; u < k.unroll; u++) {
    for (let i = 0; i < k.accumulators; i++) {
      body.push(...(k.relaxed
        ? [...op.localGet(acc(i)), ...op.localGet(va), ...op.localGet(vb), ...op.f32x4RelaxedMadd]
        : [...op.localGet(acc(i)), ...op.localGet(va), ...op.f32x4Mul, ...op.localGet(vb), ...op.f32x4Add]));
      body.push(...op.localSet(acc(i)));
    }
  }
  body.push(...op.localGet(0), ...op.i32Const(1), ...op.i32Sub, ...op.localTee(0), ...op.brIf(0), ...op.end);
  body.push(...op.localGet(acc(0)));
  for (let i = 1; i < k.accumulators; i++) body.push(...op.localGet(acc(i)), ...op.f32x4Add);
  body.push(...op.localSet(va));
  body.push(...op.localGet(va), ...op.f32x4ExtractLane(0));
  for (let lane = 1; lane < 4; lane++) body.push(...op.localGet(va), ...op.f32x4ExtractLane(lane), ...op.f32Add);
  body.push(...op.end);
  const locals = vec([[...uleb(2 + k.accumulators), V128]]);
  const func = [...locals, ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [F32], [F32]]), ...vec([[F32]])]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...vec([...'madd'].map((c) => [c.charCodeAt(0)])), 0x00, 0]])),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

/**
 * Source of the worker that runs one copy of the kernel: {bytes, warmupMs} instantiates it and
 * calls it until V8 has had time to tier it up to its optimising compiler; {iterations, ms}
 * calls it for `ms` and answers {calls, ms}.
 */
export const ceilingWorkerSource = `
let madd;
onmessage = async ({ data }) => {
  if (data.bytes) {
    madd = (await WebAssembly.instantiate(data.bytes)).instance.exports.madd;
    const start = performance.now();
    while (performance.now() - start < data.warmupMs) madd(data.iterations >> 4 || 1, 1, 0.5);
    postMessage({ ready: true });
    return;
  }
  const start = performance.now();
  let calls = 0;
  do {
    madd(data.iterations, 1, 0.5);
    calls++;
  } while (performance.now() - start < data.ms);
  postMessage({ calls, ms: performance.now() - start });
};
`;
