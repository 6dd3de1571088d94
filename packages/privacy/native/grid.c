/*
 * The integer grid's hot loops (src/grid-contribution.ts), compiled to a small
 * WebAssembly SIMD module that imports its memory: every pointer argument is a
 * byte offset into that memory. Each kernel computes exactly what its JS twin
 * in src/grid-kernels.ts computes, bit for bit:
 *   - float32 values are widened to float64 (exact) and every operation is one
 *     IEEE double operation in the same order as the JS (wasm has no fused
 *     multiply-add without relaxed SIMD, which this build does not enable, and
 *     clang does not reassociate without -ffast-math);
 *   - sums of squares of integers are exact (every partial sum is an integer
 *     below 2^53), so their order is free;
 *   - the one rounded sum, Σ Δ_k² for the clip norm, is taken per block of
 *     flat coordinates in eight running sums, lane = (flat index mod 8),
 *     exactly as the JS does; the blocks' values are added in block order by
 *     the caller, so blocks can be taken by two threads with the same bits.
 *
 * Rules that keep the module small and safe: no static data, no stack, no libc
 * (the build script checks there is no data segment and no global access).
 * Built by scripts/build-native.sh into src/grid-wasm.ts twice: with a plain
 * memory, and with a shared one for a server that splits the passes with a
 * helper thread (the same code; only the memory's kind differs).
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) name

/* 1.5·2^52: t + MAGIC for an integer |t| < 2^51 is exact, and the low 32 bits
 * of its encoding are t mod 2^32 (two's complement), as JS's ToInt32(t). */
#define MAGIC 6755399441055744.0

/* Two float32 values widened to float64. A 64-bit load each (not a 128-bit load and a shuffle
 * for its high half): the engine's shuffle port is what bounds these loops in cache. */
static inline v128_t pair(const float *p) { return wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(p)); }

/*
 * lanes[j] += Σ Δ_k² over the elements whose flat index ≡ j (mod 8), where
 * element 0 of this call has flat index ≡ phase (mod 8), Δ = u − g, or
 * (u − g)/tau when divide is set (each lane's terms added in index order).
 */
static void lane_squares(const float *u, const float *g, int n, int phase, int divide, double tau, double *lanes) {
  int k = 0;
  int lane = phase & 7;
  for (; k < n && lane != 0; k++, lane = (lane + 1) & 7) {
    double d = (double)u[k] - (double)g[k];
    if (divide) d = d / tau;
    lanes[lane] += d * d;
  }
  v128_t a0 = wasm_v128_load(lanes), a1 = wasm_v128_load(lanes + 2), a2 = wasm_v128_load(lanes + 4), a3 = wasm_v128_load(lanes + 6);
  if (divide) {
    const v128_t t = wasm_f64x2_splat(tau);
    for (; k + 7 < n; k += 8) {
      const v128_t d0 = wasm_f64x2_div(wasm_f64x2_sub(pair(u + k), pair(g + k)), t);
      const v128_t d1 = wasm_f64x2_div(wasm_f64x2_sub(pair(u + k + 2), pair(g + k + 2)), t);
      const v128_t d2 = wasm_f64x2_div(wasm_f64x2_sub(pair(u + k + 4), pair(g + k + 4)), t);
      const v128_t d3 = wasm_f64x2_div(wasm_f64x2_sub(pair(u + k + 6), pair(g + k + 6)), t);
      a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(d0, d0));
      a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(d1, d1));
      a2 = wasm_f64x2_add(a2, wasm_f64x2_mul(d2, d2));
      a3 = wasm_f64x2_add(a3, wasm_f64x2_mul(d3, d3));
    }
  } else {
    for (; k + 7 < n; k += 8) {
      const v128_t d0 = wasm_f64x2_sub(pair(u + k), pair(g + k)), d1 = wasm_f64x2_sub(pair(u + k + 2), pair(g + k + 2));
      const v128_t d2 = wasm_f64x2_sub(pair(u + k + 4), pair(g + k + 4)), d3 = wasm_f64x2_sub(pair(u + k + 6), pair(g + k + 6));
      a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(d0, d0));
      a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(d1, d1));
      a2 = wasm_f64x2_add(a2, wasm_f64x2_mul(d2, d2));
      a3 = wasm_f64x2_add(a3, wasm_f64x2_mul(d3, d3));
    }
  }
  wasm_v128_store(lanes, a0);
  wasm_v128_store(lanes + 2, a1);
  wasm_v128_store(lanes + 4, a2);
  wasm_v128_store(lanes + 6, a3);
  for (lane = 0; k < n; k++, lane++) {
    double d = (double)u[k] - (double)g[k];
    if (divide) d = d / tau;
    lanes[lane] += d * d;
  }
}

void EXPORT(norm_lanes)(const float *u, const float *g, int n, int phase, int divide, double tau, double *lanes) {
  lane_squares(u, g, n, phase, divide, tau, lanes);
}

/*
 * out[b] = the lanes of block b (coordinates [b·block, (b+1)·block) of this
 * call, the last one shorter), from zero, combined as the JS combineLanes does:
 * ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). The call starts on a
 * block's first coordinate; block is a multiple of 8. `lanes` is scratch.
 */
void EXPORT(norm_blocks)(const float *u, const float *g, int n, int block, int divide, double tau, double *lanes, double *out) {
  for (int at = 0; at < n; at += block, out++) {
    for (int j = 0; j < 8; j++) lanes[j] = 0;
    lane_squares(u + at, g + at, n - at < block ? n - at : block, 0, divide, tau, lanes);
    *out = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  }
}

/*
 * x_k = trunc(((u_k − g_k) [/ tau]) · factor); sum_k += x_k (mode 1), sum_k −= x_k
 * (mode −1, an add taken back: int32 arithmetic wraps, so it is undone exactly
 * whatever it did), or no sum at all (mode 0). Returns Σ x_k² (exact: see the
 * header; a total past 2^53 can only have been past the check's limit).
 * Needs |x_k| < 2^51 (the caller's factor guarantees ≈ bound ≤ 2^22).
 */
#define GRID_LOOP(DIFF, STORE)                                                                     \
  for (; k + 3 < n; k += 4) {                                                                      \
    const v128_t t0 = wasm_f64x2_trunc(wasm_f64x2_mul(DIFF(pair(u + k), pair(g + k)), f));         \
    const v128_t t1 = wasm_f64x2_trunc(wasm_f64x2_mul(DIFF(pair(u + k + 2), pair(g + k + 2)), f)); \
    q0 = wasm_f64x2_add(q0, wasm_f64x2_mul(t0, t0));                                               \
    q1 = wasm_f64x2_add(q1, wasm_f64x2_mul(t1, t1));                                               \
    STORE                                                                                          \
  }

#define SUB(a, b) wasm_f64x2_sub(a, b)
#define SUB_DIV(a, b) wasm_f64x2_div(wasm_f64x2_sub(a, b), t)
#define INTS                                                                                       \
  wasm_i32x4_shuffle(wasm_f64x2_add(t0, m), wasm_f64x2_add(t1, m), 0, 2, 4, 6)
#define ADD_STORE wasm_v128_store(sum + k, wasm_i32x4_add(wasm_v128_load(sum + k), INTS));
#define SUB_STORE wasm_v128_store(sum + k, wasm_i32x4_sub(wasm_v128_load(sum + k), INTS));

double EXPORT(grid_add)(int32_t *sum, const float *u, const float *g, int n, int divide, double tau, double factor, int mode) {
  const v128_t f = wasm_f64x2_splat(factor), t = wasm_f64x2_splat(tau), m = wasm_f64x2_splat(MAGIC);
  v128_t q0 = wasm_f64x2_splat(0), q1 = q0;
  int k = 0;
  if (mode > 0) {
    if (divide) { GRID_LOOP(SUB_DIV, ADD_STORE) } else { GRID_LOOP(SUB, ADD_STORE) }
  } else if (mode < 0) {
    if (divide) { GRID_LOOP(SUB_DIV, SUB_STORE) } else { GRID_LOOP(SUB, SUB_STORE) }
  } else {
    if (divide) { GRID_LOOP(SUB_DIV, ) } else { GRID_LOOP(SUB, ) }
  }
  double s = wasm_f64x2_extract_lane(q0, 0) + wasm_f64x2_extract_lane(q0, 1) + (wasm_f64x2_extract_lane(q1, 0) + wasm_f64x2_extract_lane(q1, 1));
  for (; k < n; k++) {
    double d = (double)u[k] - (double)g[k];
    if (divide) d = d / tau;
    const double x = __builtin_trunc(d * factor);
    s += x * x;
    /* the same wrap as the vector loop's */
    const int32_t xi = (int32_t)(uint32_t)(uint64_t)(int64_t)x;
    if (mode > 0) sum[k] = (int32_t)((uint32_t)sum[k] + (uint32_t)xi);
    else if (mode < 0) sum[k] = (int32_t)((uint32_t)sum[k] - (uint32_t)xi);
  }
  return s;
}
