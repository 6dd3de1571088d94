/*
 * Memory-bound training kernels for tfjs-backend-wasm, compiled to a small
 * WebAssembly module that imports the backend's own linear memory, so that
 * they read and write tensors in place (pointers are heap byte offsets).
 *
 * Rules that keep the module safe inside someone else's memory: no static
 * data, no stack (no local arrays, no address-taken locals), no libc. The
 * build script checks the output has no data segment and no stack pointer.
 *
 * Built by scripts/build-native.sh into src/native/kernels_wasm.ts, twice:
 * with wasm SIMD, and with relaxed SIMD's fused multiply-add as well.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name))) name

/*
 * Max-pooling gradient, NHWC: each window's dy goes to the first position,
 * in row-major window order, that holds the window's maximum (strict >, so
 * NaN and -inf never win; a window with no winner passes nothing), as the
 * cpu backend does. dx is cleared first; overlapping windows accumulate.
 * With positive_only, a window whose maximum is not > 0 passes nothing: the
 * gradient through a ReLU and then this pooling, the ReLU's mask included
 * (x is the ReLU's output: its maximum is > 0 exactly where the ReLU passed
 * the winner's gradient).
 */
void EXPORT(max_pool_grad)(const float *x, const float *dy, float *dx, int n_batch, int height,
                           int width, int channels, int out_height, int out_width, int filter_h,
                           int filter_w, int stride_h, int stride_w, int pad_top, int pad_left, int positive_only) {
  const int c4 = channels & ~3;
  const v128_t lane = wasm_i32x4_make(0, 1, 2, 3);
  // Windows that do not overlap (the usual 2x2/2) each own their dx: the
  // window's dy is stored to all its positions at once, masked to the
  // winner, instead of four scalar read-modify-writes.
  const int disjoint = stride_h >= filter_h && stride_w >= filter_w;
  // Windows that tile the image (stride = filter: the usual 2x2/2) store
  // every position they cover when every channel is in a 4-wide vector (the
  // rest accumulate); only the rows and columns past the last window then
  // need clearing. Otherwise the whole image is cleared first.
  const int tiled = stride_h == filter_h && stride_w == filter_w && c4 == channels;
  const int rows_covered = tiled ? (out_height * stride_h - pad_top < height ? out_height * stride_h - pad_top : height) : 0;
  const int cols_covered = tiled ? (out_width * stride_w - pad_left < width ? out_width * stride_w - pad_left : width) : 0;
  for (int b = 0; b < n_batch; b++) {
    const int image = b * height * width * channels;
    // Cleared image by image rather than all at once, so that the scatter
    // below finds this image's dx still in cache (the reference CNN's first
    // one is 246 KB, the whole batch 8 MB).
    if (cols_covered < width) {
      for (int r = 0; r < rows_covered; r++)
        __builtin_memset(dx + image + (r * width + cols_covered) * channels, 0, (uint32_t)(width - cols_covered) * channels * sizeof(float));
    }
    __builtin_memset(dx + image + rows_covered * width * channels, 0, (uint32_t)(height - rows_covered) * width * channels * sizeof(float));
    for (int oy = 0; oy < out_height; oy++) {
      const int top = oy * stride_h - pad_top;
      const int r0 = top < 0 ? 0 : top;
      const int r1 = top + filter_h < height ? top + filter_h : height;
      for (int ox = 0; ox < out_width; ox++) {
        const int left = ox * stride_w - pad_left;
        const int q0 = left < 0 ? 0 : left;
        const int q1 = left + filter_w < width ? left + filter_w : width;
        const float *g = dy + ((b * out_height + oy) * out_width + ox) * channels;
        if (tiled && filter_h == 2 && filter_w == 2 && r1 - r0 == 2 && q1 - q0 == 2) {
          // A whole 2x2 window (the CNNs' pools): the first maximum tracked by masks,
          // no position arithmetic; the same winner as the general loop below.
          float *d0 = dx + image + (r0 * width + q0) * channels;
          const float *x0 = x + image + (r0 * width + q0) * channels;
          const int below = width * channels;
          for (int c = 0; c < c4; c += 4) {
            const v128_t v0 = wasm_v128_load(x0 + c), v1 = wasm_v128_load(x0 + channels + c);
            const v128_t v2 = wasm_v128_load(x0 + below + c), v3 = wasm_v128_load(x0 + below + channels + c);
            v128_t w0 = wasm_f32x4_gt(v0, wasm_f32x4_splat(-__builtin_inff()));
            v128_t best = wasm_v128_bitselect(v0, wasm_f32x4_splat(-__builtin_inff()), w0);
            v128_t w1 = wasm_f32x4_gt(v1, best);
            best = wasm_v128_bitselect(v1, best, w1);
            w0 = wasm_v128_andnot(w0, w1);
            v128_t w2 = wasm_f32x4_gt(v2, best);
            best = wasm_v128_bitselect(v2, best, w2);
            w0 = wasm_v128_andnot(w0, w2), w1 = wasm_v128_andnot(w1, w2);
            const v128_t w3 = wasm_f32x4_gt(v3, best);
            best = wasm_v128_bitselect(v3, best, w3);
            w0 = wasm_v128_andnot(w0, w3), w1 = wasm_v128_andnot(w1, w3), w2 = wasm_v128_andnot(w2, w3);
            v128_t gv = wasm_v128_load(g + c);
            if (positive_only) gv = wasm_v128_and(gv, wasm_f32x4_gt(best, wasm_f32x4_splat(0.0f)));
            wasm_v128_store(d0 + c, wasm_v128_and(gv, w0));
            wasm_v128_store(d0 + channels + c, wasm_v128_and(gv, w1));
            wasm_v128_store(d0 + below + c, wasm_v128_and(gv, w2));
            wasm_v128_store(d0 + below + channels + c, wasm_v128_and(gv, w3));
          }
          continue;
        }
        for (int c = 0; c < c4; c += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t at = wasm_i32x4_splat(-1);
          for (int r = r0; r < r1; r++) {
            for (int q = q0; q < q1; q++) {
              const int i = image + (r * width + q) * channels + c;
              const v128_t v = wasm_v128_load(x + i);
              const v128_t gt = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, gt);
              at = wasm_v128_bitselect(wasm_i32x4_add(wasm_i32x4_splat(i), lane), at, gt);
            }
          }
          if (positive_only) at = wasm_v128_bitselect(at, wasm_i32x4_splat(-1), wasm_f32x4_gt(best, wasm_f32x4_splat(0.0f)));
          if (disjoint) {
            const v128_t gv = wasm_v128_load(g + c);
            const v128_t none = wasm_f32x4_splat(0.0f);
            for (int r = r0; r < r1; r++) {
              for (int q = q0; q < q1; q++) {
                const int i = image + (r * width + q) * channels + c;
                const v128_t won = wasm_i32x4_eq(at, wasm_i32x4_add(wasm_i32x4_splat(i), lane));
                wasm_v128_store(dx + i, wasm_v128_bitselect(gv, none, won));
              }
            }
            continue;
          }
          const int a0 = wasm_i32x4_extract_lane(at, 0);
          const int a1 = wasm_i32x4_extract_lane(at, 1);
          const int a2 = wasm_i32x4_extract_lane(at, 2);
          const int a3 = wasm_i32x4_extract_lane(at, 3);
          if (a0 >= 0) dx[a0] += g[c];
          if (a1 >= 0) dx[a1] += g[c + 1];
          if (a2 >= 0) dx[a2] += g[c + 2];
          if (a3 >= 0) dx[a3] += g[c + 3];
        }
        for (int c = c4; c < channels; c++) {
          float best = -__builtin_inff();
          int at = -1;
          for (int r = r0; r < r1; r++) {
            for (int q = q0; q < q1; q++) {
              const int i = image + (r * width + q) * channels + c;
              if (x[i] > best) {
                best = x[i];
                at = i;
              }
            }
          }
          if (at >= 0 && (!positive_only || best > 0.0f)) dx[at] += g[c];
        }
      }
    }
  }
}

/*
 * acc[c] = sum_r src[r * cols + c], accumulated in float64 (as the cpu
 * backend does) in `acc`, `cols` doubles. With threads each chunk of rows
 * sums into an acc of its own; the caller adds them up and rounds.
 */
void EXPORT(sum_rows)(const float *src, double *acc, int rows, int cols) {
  int c0 = 0;
  // Blocks of 16 columns (a bias gradient's 16 or 32 channels) sum in eight
  // registers over all rows: no accumulator stored and reloaded per row. The
  // same additions in the same order as the per-row loop below, so the same bits.
  for (; c0 + 16 <= cols; c0 += 16) {
    v128_t a0 = wasm_f64x2_splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int r = 0; r < rows; r++) {
      const float *row = src + (uint32_t)r * cols + c0;
      const v128_t v0 = wasm_v128_load(row), v1 = wasm_v128_load(row + 4);
      const v128_t v2 = wasm_v128_load(row + 8), v3 = wasm_v128_load(row + 12);
      a0 = wasm_f64x2_add(a0, wasm_f64x2_promote_low_f32x4(v0));
      a1 = wasm_f64x2_add(a1, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v0, v0, 2, 3, 2, 3)));
      a2 = wasm_f64x2_add(a2, wasm_f64x2_promote_low_f32x4(v1));
      a3 = wasm_f64x2_add(a3, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v1, v1, 2, 3, 2, 3)));
      a4 = wasm_f64x2_add(a4, wasm_f64x2_promote_low_f32x4(v2));
      a5 = wasm_f64x2_add(a5, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v2, v2, 2, 3, 2, 3)));
      a6 = wasm_f64x2_add(a6, wasm_f64x2_promote_low_f32x4(v3));
      a7 = wasm_f64x2_add(a7, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v3, v3, 2, 3, 2, 3)));
    }
    wasm_v128_store(acc + c0, a0), wasm_v128_store(acc + c0 + 2, a1);
    wasm_v128_store(acc + c0 + 4, a2), wasm_v128_store(acc + c0 + 6, a3);
    wasm_v128_store(acc + c0 + 8, a4), wasm_v128_store(acc + c0 + 10, a5);
    wasm_v128_store(acc + c0 + 12, a6), wasm_v128_store(acc + c0 + 14, a7);
  }
  // The other columns, row by row.
  for (int c = c0; c < cols; c++) acc[c] = 0;
  const int c4 = c0 + ((cols - c0) & ~3);
  for (int r = 0; r < rows; r++) {
    const float *row = src + (uint32_t)r * cols;
    for (int c = c0; c < c4; c += 4) {
      const v128_t v = wasm_v128_load(row + c);
      wasm_v128_store(acc + c, wasm_f64x2_add(wasm_v128_load(acc + c), wasm_f64x2_promote_low_f32x4(v)));
      const v128_t hi = wasm_i32x4_shuffle(v, v, 2, 3, 2, 3);
      wasm_v128_store(acc + c + 2, wasm_f64x2_add(wasm_v128_load(acc + c + 2), wasm_f64x2_promote_low_f32x4(hi)));
    }
    for (int c = c4; c < cols; c++) acc[c] += row[c];
  }
}

/*
 * GEMM micro-tiles: c[i][j] (+)= sum_k A(i, k) * B(k, j) for mr <= 4 rows i
 * and nr = 8, 4 or 1 columns j. The sum runs over `segs` segments of k_len
 * terms: A(i, k) = a[s * a_seg + i * rs + k * cs] and B(k, j) = b[s * b_seg +
 * k * ldb + j] in segment s, so that A can be read transposed, strided, or
 * as one convolution window row after another without copying it, and B
 * straight from a tensor. No packing: XNNPACK repacks its weight operand on
 * every call, which for training's always-new operands costs more than the
 * product itself.
 */
#define INLINE static inline __attribute__((always_inline))

/* acc + a * b: fused where the engine has relaxed SIMD (the second build). */
#ifdef __wasm_relaxed_simd__
INLINE v128_t fma4(v128_t acc, v128_t a, v128_t b) { return wasm_f32x4_relaxed_madd(a, b, acc); }
#else
INLINE v128_t fma4(v128_t acc, v128_t a, v128_t b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }
#endif

#define TILE_ARGS const float *a, int rs, int cs, int a_seg, const float *b, int ldb, int b_seg, float *c, int ldc, \
                  int k_len, int segs, int accumulate
#define TILE_PASS a, rs, cs, a_seg, b, ldb, b_seg, c, ldc, k_len, segs, accumulate

INLINE void tile_x8(int mr, TILE_ARGS) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  if (accumulate) {
    c00 = wasm_v128_load(c), c01 = wasm_v128_load(c + 4);
    if (mr > 1) c10 = wasm_v128_load(c + ldc), c11 = wasm_v128_load(c + ldc + 4);
    if (mr > 2) c20 = wasm_v128_load(c + 2 * ldc), c21 = wasm_v128_load(c + 2 * ldc + 4);
    if (mr > 3) c30 = wasm_v128_load(c + 3 * ldc), c31 = wasm_v128_load(c + 3 * ldc + 4);
  }
  for (int s = 0; s < segs; s++) {
    const float *ap = a + s * a_seg;
    const float *bp = b + s * b_seg;
    for (int k = 0; k < k_len; k++) {
      const v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
      bp += ldb;
      const v128_t a0 = wasm_v128_load32_splat(ap);
      c00 = fma4(c00, a0, b0), c01 = fma4(c01, a0, b1);
      if (mr > 1) {
        const v128_t a1 = wasm_v128_load32_splat(ap + rs);
        c10 = fma4(c10, a1, b0), c11 = fma4(c11, a1, b1);
      }
      if (mr > 2) {
        const v128_t a2 = wasm_v128_load32_splat(ap + 2 * rs);
        c20 = fma4(c20, a2, b0), c21 = fma4(c21, a2, b1);
      }
      if (mr > 3) {
        const v128_t a3 = wasm_v128_load32_splat(ap + 3 * rs);
        c30 = fma4(c30, a3, b0), c31 = fma4(c31, a3, b1);
      }
      ap += cs;
    }
  }
  wasm_v128_store(c, c00), wasm_v128_store(c + 4, c01);
  if (mr > 1) wasm_v128_store(c + ldc, c10), wasm_v128_store(c + ldc + 4, c11);
  if (mr > 2) wasm_v128_store(c + 2 * ldc, c20), wasm_v128_store(c + 2 * ldc + 4, c21);
  if (mr > 3) wasm_v128_store(c + 3 * ldc, c30), wasm_v128_store(c + 3 * ldc + 4, c31);
}

INLINE void tile_x4(int mr, TILE_ARGS) {
  v128_t c0 = wasm_f32x4_splat(0), c1 = c0, c2 = c0, c3 = c0;
  if (accumulate) {
    c0 = wasm_v128_load(c);
    if (mr > 1) c1 = wasm_v128_load(c + ldc);
    if (mr > 2) c2 = wasm_v128_load(c + 2 * ldc);
    if (mr > 3) c3 = wasm_v128_load(c + 3 * ldc);
  }
  for (int s = 0; s < segs; s++) {
    const float *ap = a + s * a_seg;
    const float *bp = b + s * b_seg;
    for (int k = 0; k < k_len; k++) {
      const v128_t b0 = wasm_v128_load(bp);
      bp += ldb;
      c0 = fma4(c0, wasm_v128_load32_splat(ap), b0);
      if (mr > 1) c1 = fma4(c1, wasm_v128_load32_splat(ap + rs), b0);
      if (mr > 2) c2 = fma4(c2, wasm_v128_load32_splat(ap + 2 * rs), b0);
      if (mr > 3) c3 = fma4(c3, wasm_v128_load32_splat(ap + 3 * rs), b0);
      ap += cs;
    }
  }
  wasm_v128_store(c, c0);
  if (mr > 1) wasm_v128_store(c + ldc, c1);
  if (mr > 2) wasm_v128_store(c + 2 * ldc, c2);
  if (mr > 3) wasm_v128_store(c + 3 * ldc, c3);
}

/*
 * One column (nr = 1) where A's rows and B's column are both contiguous along
 * k (cs == 1, ldb == 1: the input gradient of a one-channel first layer):
 * dot products vectorized along k, instead of one scalar multiply-add per
 * term. Only reached through dot_panel (not inlined): branching to it from
 * the generic tiles changed how clang compiled them, and made the forward
 * convolution and the filter gradient 1.6-2x slower.
 */
INLINE void tile_dot(int mr, TILE_ARGS) {
  (void)cs, (void)ldb;
  v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
  float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  const int k4 = k_len & ~3;
  for (int s = 0; s < segs; s++) {
    const float *ap = a + s * a_seg;
    const float *bp = b + s * b_seg;
    for (int k = 0; k < k4; k += 4) {
      const v128_t bv = wasm_v128_load(bp + k);
      s0 = fma4(s0, wasm_v128_load(ap + k), bv);
      if (mr > 1) s1 = fma4(s1, wasm_v128_load(ap + rs + k), bv);
      if (mr > 2) s2 = fma4(s2, wasm_v128_load(ap + 2 * rs + k), bv);
      if (mr > 3) s3 = fma4(s3, wasm_v128_load(ap + 3 * rs + k), bv);
    }
    for (int k = k4; k < k_len; k++) {
      const float bk = bp[k];
      t0 += ap[k] * bk;
      if (mr > 1) t1 += ap[rs + k] * bk;
      if (mr > 2) t2 += ap[2 * rs + k] * bk;
      if (mr > 3) t3 += ap[3 * rs + k] * bk;
    }
  }
  // Horizontal sums of the four accumulators at once (4 x 4 transpose by shuffles).
  const v128_t u0 = wasm_f32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
  const v128_t u1 = wasm_f32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
  const v128_t sums = wasm_f32x4_add(wasm_i64x2_shuffle(u0, u1, 0, 2), wasm_i64x2_shuffle(u0, u1, 1, 3));
  const float r0 = wasm_f32x4_extract_lane(sums, 0) + t0;
  c[0] = accumulate ? c[0] + r0 : r0;
  if (mr > 1) {
    const float r1 = wasm_f32x4_extract_lane(sums, 1) + t1;
    c[ldc] = accumulate ? c[ldc] + r1 : r1;
  }
  if (mr > 2) {
    const float r2 = wasm_f32x4_extract_lane(sums, 2) + t2;
    c[2 * ldc] = accumulate ? c[2 * ldc] + r2 : r2;
  }
  if (mr > 3) {
    const float r3 = wasm_f32x4_extract_lane(sums, 3) + t3;
    c[3 * ldc] = accumulate ? c[3 * ldc] + r3 : r3;
  }
}

INLINE void tile_x1(int mr, TILE_ARGS) {
  for (int i = 0; i < mr; i++) {
    float sum = accumulate ? c[i * ldc] : 0.0f;
    for (int s = 0; s < segs; s++) {
      const float *ap = a + s * a_seg + i * rs;
      const float *bp = b + s * b_seg;
      for (int k = 0; k < k_len; k++) sum += ap[k * cs] * bp[k * ldb];
    }
    c[i * ldc] = sum;
  }
}

INLINE void tile(int mr, int nr, TILE_ARGS) {
  if (nr == 8) tile_x8(mr, TILE_PASS);
  else if (nr == 4) tile_x4(mr, TILE_PASS);
  else tile_x1(mr, TILE_PASS);
}

/* All row blocks of the column block at b, c (nr columns). */
INLINE void column_block(int nr, int m, TILE_ARGS) {
  int i = 0;
  for (; i + 4 <= m; i += 4) tile(4, nr, a + i * rs, rs, cs, a_seg, b, ldb, b_seg, c + i * ldc, ldc, k_len, segs, accumulate);
  const float *ai = a + i * rs;
  float *ci = c + i * ldc;
  switch (m - i) {
    case 3: tile(3, nr, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    case 2: tile(2, nr, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    case 1: tile(1, nr, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    default: break;
  }
}

/* All column blocks of the row block at a, c (mr rows). */
INLINE void row_block(int mr, int n, TILE_ARGS) {
  int j = 0;
  for (; j + 8 <= n; j += 8) tile(mr, 8, a, rs, cs, a_seg, b + j, ldb, b_seg, c + j, ldc, k_len, segs, accumulate);
  for (; j + 4 <= n; j += 4) tile(mr, 4, a, rs, cs, a_seg, b + j, ldb, b_seg, c + j, ldc, k_len, segs, accumulate);
  for (; j < n; j++) tile(mr, 1, a, rs, cs, a_seg, b + j, ldb, b_seg, c + j, ldc, k_len, segs, accumulate);
}

/*
 * c[m x n] (+)= A(m x K) * B(K x n) with K = segs * k_len, not blocked. The
 * loop over the larger operand is outermost, so that the smaller one's panel
 * is reused from cache by every tile along it.
 */
static void gemm_panel(int m, int n, TILE_ARGS) {
  if (m <= 0 || n <= 0) return;
  if (m <= n) {
    int j = 0;
    for (; j + 8 <= n; j += 8) column_block(8, m, a, rs, cs, a_seg, b + j, ldb, b_seg, c + j, ldc, k_len, segs, accumulate);
    for (; j + 4 <= n; j += 4) column_block(4, m, a, rs, cs, a_seg, b + j, ldb, b_seg, c + j, ldc, k_len, segs, accumulate);
    for (; j < n; j++) column_block(1, m, a, rs, cs, a_seg, b + j, ldb, b_seg, c + j, ldc, k_len, segs, accumulate);
    return;
  }
  int i = 0;
  for (; i + 4 <= m; i += 4) row_block(4, n, a + i * rs, rs, cs, a_seg, b, ldb, b_seg, c + i * ldc, ldc, k_len, segs, accumulate);
  const float *ai = a + i * rs;
  float *ci = c + i * ldc;
  switch (m - i) {
    case 3: row_block(3, n, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    case 2: row_block(2, n, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    case 1: row_block(1, n, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    default: break;
  }
}

/* c[m x 1] (+)= A(m x K) * b[K] with cs == 1 and ldb == 1 (see tile_dot). */
static __attribute__((noinline)) void dot_panel(int m, TILE_ARGS) {
  int i = 0;
  for (; i + 4 <= m; i += 4) tile_dot(4, a + i * rs, rs, cs, a_seg, b, ldb, b_seg, c + i * ldc, ldc, k_len, segs, accumulate);
  const float *ai = a + i * rs;
  float *ci = c + i * ldc;
  switch (m - i) {
    case 3: tile_dot(3, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    case 2: tile_dot(2, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    case 1: tile_dot(1, ai, rs, cs, a_seg, b, ldb, b_seg, ci, ldc, k_len, segs, accumulate); break;
    default: break;
  }
}

/*
 * c[m x n] = A(m x k) * b[k x n] (row-major b and c), A(i, k) = a[i * rs +
 * k * cs]: a plain matrix with (rs, cs) = (k, 1), its transpose with (1, m).
 * k is split into panels that stay in cache.
 */
void EXPORT(gemm)(const float *a, int rs, int cs, const float *b, float *c, int m, int n, int k) {
  const int kc = 256;
  if (k == 0) {
    __builtin_memset(c, 0, (uint32_t)m * n * sizeof(float));
    return;
  }
  for (int k0 = 0; k0 < k; k0 += kc) {
    const int len = k - k0 < kc ? k - k0 : kc;
    gemm_panel(m, n, a + k0 * cs, rs, cs, 0, b + (uint32_t)k0 * n, n, 0, c, n, len, 1, k0 > 0);
  }
}

/* out[cols x rows] = transpose of in[rows x cols]: 4 x 4 blocks in registers. */
void EXPORT(transpose2d)(const float *in, float *out, int rows, int cols) {
  const int r4 = rows & ~3, c4 = cols & ~3;
  for (int r = 0; r < r4; r += 4) {
    const float *i0 = in + (uint32_t)r * cols;
    for (int c = 0; c < c4; c += 4) {
      const v128_t x0 = wasm_v128_load(i0 + c), x1 = wasm_v128_load(i0 + cols + c);
      const v128_t x2 = wasm_v128_load(i0 + 2 * cols + c), x3 = wasm_v128_load(i0 + 3 * cols + c);
      const v128_t t0 = wasm_i32x4_shuffle(x0, x1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(x0, x1, 2, 6, 3, 7);
      const v128_t t2 = wasm_i32x4_shuffle(x2, x3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(x2, x3, 2, 6, 3, 7);
      float *o = out + (uint32_t)c * rows + r;
      wasm_v128_store(o, wasm_i64x2_shuffle(t0, t2, 0, 2));
      wasm_v128_store(o + rows, wasm_i64x2_shuffle(t0, t2, 1, 3));
      wasm_v128_store(o + 2 * rows, wasm_i64x2_shuffle(t1, t3, 0, 2));
      wasm_v128_store(o + 3 * rows, wasm_i64x2_shuffle(t1, t3, 1, 3));
    }
    for (int c = c4; c < cols; c++) {
      for (int q = 0; q < 4; q++) out[(uint32_t)c * rows + r + q] = in[(uint32_t)(r + q) * cols + c];
    }
  }
  for (int r = r4; r < rows; r++) {
    for (int c = 0; c < cols; c++) out[(uint32_t)c * rows + r] = in[(uint32_t)r * cols + c];
  }
}

/*
 * Range of output positions o in [0, out) whose input position
 * o * stride + shift lies in [0, size): [*o0, *o1).
 */
INLINE void inside(int shift, int stride, int size, int out, int *o0, int *o1) {
  int lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  int hi = size - 1 - shift >= 0 ? (size - 1 - shift) / stride + 1 : 0;
  if (hi > out) hi = out;
  if (lo > hi) lo = hi;
  *o0 = lo;
  *o1 = hi;
}

/*
 * Filter gradient of a 2-D convolution, NHWC, filter [kh, kw, ci, co]:
 * dw[a, b, c, co] = sum_{n, oy, ox} x[n, oy*sh + a*dh - top, ox*sw + b*dwl - left, c] * dy[n, oy, ox, co]
 * (zero outside the image). Per image and filter row a, one GEMM whose rows
 * are the taps (b, c), consecutive in x with dilation 1, and whose sum runs
 * over the output pixels (segments: the output rows that read inside the
 * image; in each, the columns where every tap does). Border columns go tap
 * by tap. dw stays in cache.
 */
void EXPORT(conv2d_filter_grad)(const float *x, const float *dy, float *dw, int n_batch, int height, int width,
                                int ci, int out_height, int out_width, int co, int kh, int kw, int sh, int sw,
                                int dh, int dwl, int pad_top, int pad_left) {
  __builtin_memset(dw, 0, (uint32_t)kh * kw * ci * co * sizeof(float));
  const int row_taps = kw * ci;
  const int cs = sw * ci;
  const int a_seg = sh * width * ci;
  const int b_seg = out_width * co;
  // Output columns with every tap b inside the image.
  int all0, all1;
  inside(-pad_left, sw, width - (kw - 1) * dwl, out_width, &all0, &all1);
  const int merged = dwl == 1 && all1 > all0;
  for (int n = 0; n < n_batch; n++) {
    for (int a = 0; a < kh; a++) {
      int oy0, oy1;
      inside(a * dh - pad_top, sh, height, out_height, &oy0, &oy1);
      if (oy1 <= oy0) continue;
      const int r0 = oy0 * sh + a * dh - pad_top;
      const float *xrow = x + (uint32_t)((n * height + r0) * width) * ci;
      const float *g = dy + (uint32_t)((n * out_height + oy0) * out_width) * co;
      float *out = dw + (uint32_t)(a * row_taps) * co;
      if (merged) {
        gemm_panel(row_taps, co, xrow + (all0 * sw - pad_left) * ci, 1, cs, a_seg, g + all0 * co, co, b_seg, out, co,
                   all1 - all0, oy1 - oy0, 1);
      }
      for (int b = 0; b < kw; b++) {
        const int shift = b * dwl - pad_left;
        int s0, s1;
        inside(shift, sw, width, out_width, &s0, &s1);
        float *tap = out + (uint32_t)(b * ci) * co;
        // With the merged product, only the border columns [s0, all0) and [all1, s1) are left.
        const int e0 = merged && all0 < s1 ? all0 : s1;
        const int e1 = merged && all1 > s0 ? all1 : s1;
        if (e0 > s0) gemm_panel(ci, co, xrow + (s0 * sw + shift) * ci, 1, cs, a_seg, g + s0 * co, co, b_seg, tap, co, e0 - s0, oy1 - oy0, 1);
        if (merged && s1 > e1) gemm_panel(ci, co, xrow + (e1 * sw + shift) * ci, 1, cs, a_seg, g + e1 * co, co, b_seg, tap, co, s1 - e1, oy1 - oy0, 1);
      }
    }
  }
}

/*
 * ReLU gradient in one pass: dx = dy * step(x), where tfjs's gradient runs
 * Step then Multiply, each a pass over tensors too large for the cache. The
 * mask is 1 where x > 0, x itself where x is NaN (NaN, as Step gives), 0
 * elsewhere, and the product is the same float32 multiply, so dx equals the
 * two-kernel result to the bit (0 * inf = NaN and -0 included).
 */
void EXPORT(relu_grad)(const float *dy, const float *x, float *dx, int n) {
  const int n4 = n & ~3;
  const v128_t one = wasm_f32x4_splat(1.0f);
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n4; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    const v128_t mask = wasm_v128_bitselect(v, wasm_v128_and(wasm_f32x4_gt(v, zero), one), wasm_f32x4_ne(v, v));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), mask));
  }
  for (int i = n4; i < n; i++) {
    const float v = x[i];
    dx[i] = dy[i] * (v != v ? v : v > 0.0f ? 1.0f : 0.0f);
  }
}

/* out[r, c] = x[r, c] + bias[c]: a bias add broadcast over rows. */
void EXPORT(add_bias)(const float *x, const float *bias, float *out, int rows, int cols) {
  const int c4 = cols & ~3;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (uint32_t)r * cols;
    float *o = out + (uint32_t)r * cols;
    for (int c = 0; c < c4; c += 4) wasm_v128_store(o + c, wasm_f32x4_add(wasm_v128_load(xr + c), wasm_v128_load(bias + c)));
    for (int c = c4; c < cols; c++) o[c] = xr[c] + bias[c];
  }
}

/*
 * out[r, c] = (x[r, c] - mean[c]) * a[c] + offset[c]: tf.batchNorm with a = scale / sqrt(var + eps)
 * per channel (the caller's), subtracting before scaling as norm_apply does.
 */
void EXPORT(batch_norm_apply)(const float *x, const float *mean, const float *a, const float *offset, float *out,
                              int rows, int cols) {
  const int c4 = cols & ~3;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (uint32_t)r * cols;
    float *o = out + (uint32_t)r * cols;
    for (int c = 0; c < c4; c += 4)
      wasm_v128_store(o + c, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(mean + c)),
                                                           wasm_v128_load(a + c)),
                                            wasm_v128_load(offset + c)));
    for (int c = c4; c < cols; c++) o[c] = (xr[c] - mean[c]) * a[c] + offset[c];
  }
}

/*
 * out[r, c] = x[r, c] * v[c] (op 1), x[r, c] - v[c] (op 2) or v[c] - x[r, c] (op 3): a vector
 * along the last axis broadcast over rows (a batch norm's per-channel factors and means).
 */
void EXPORT(rows_binary)(const float *x, const float *v, float *out, int rows, int cols, int op) {
  const int c4 = cols & ~3;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (uint32_t)r * cols;
    float *o = out + (uint32_t)r * cols;
    if (op == 1) {
      for (int c = 0; c < c4; c += 4) wasm_v128_store(o + c, wasm_f32x4_mul(wasm_v128_load(xr + c), wasm_v128_load(v + c)));
      for (int c = c4; c < cols; c++) o[c] = xr[c] * v[c];
    } else if (op == 2) {
      for (int c = 0; c < c4; c += 4) wasm_v128_store(o + c, wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(v + c)));
      for (int c = c4; c < cols; c++) o[c] = xr[c] - v[c];
    } else {
      for (int c = 0; c < c4; c += 4) wasm_v128_store(o + c, wasm_f32x4_sub(wasm_v128_load(v + c), wasm_v128_load(xr + c)));
      for (int c = c4; c < cols; c++) o[c] = v[c] - xr[c];
    }
  }
}

/*
 * A convolution's output row [cols x co] in place: + bias[c] (tail bit 1),
 * then ReLU as tfjs computes it, v < 0 ? 0 : v (tail bit 2: NaN and -0 pass
 * unchanged). The same float32 add as add_bias, so the fused convolution
 * equals Conv2D, Add and Relu run one after another, to the bit.
 */
INLINE v128_t bias_relu4(v128_t v, const float *bias, int tail) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  if (tail & 1) v = wasm_f32x4_add(v, wasm_v128_load(bias));
  if (tail & 2) v = wasm_v128_bitselect(zero, v, wasm_f32x4_lt(v, zero));
  return v;
}

INLINE void bias_relu_row(float *out, int cols, int co, const float *bias, int tail) {
  const int c4 = co & ~3;
  for (int q = 0; q < cols; q++) {
    float *o = out + q * co;
    for (int c = 0; c < c4; c += 4) wasm_v128_store(o + c, bias_relu4(wasm_v128_load(o + c), bias + c, tail));
    for (int c = c4; c < co; c++) {
      float v = o[c];
      if (tail & 1) v += bias[c];
      if (tail & 2) v = v < 0.0f ? 0.0f : v;
      o[c] = v;
    }
  }
}

/*
 * The interior columns of one output row of a 3x3 stride-1 convolution of a single input channel
 * (a first layer's: the GEMM of conv2d has a k of 3 per filter row there, and spends its time
 * loading and storing the output): out[q][c] = sum over the filter rows r < rows and taps b of
 * x[r * row + q + b] * w[r][b][c], for q < cols (every tap inside the image). Per 4 output
 * channels the filter's 9 vectors stay in registers and 4 columns accumulate at once, each input
 * value loaded once per column block and used by up to 3 columns. The sums are complete, so
 * `tail` (bias, ReLU: bias_relu4) is applied before they are stored. co a multiple of 4.
 */
#define C1_TAPS(r, w0, w1, w2)                                                           \
  if (rows > r) {                                                                        \
    const float *xr = x + r * row + q;                                                   \
    v128_t s = wasm_v128_load32_splat(xr);                                               \
    a0 = fma4(a0, s, w0);                                                                \
    s = wasm_v128_load32_splat(xr + 1);                                                  \
    a0 = fma4(a0, s, w1), a1 = fma4(a1, s, w0);                                          \
    s = wasm_v128_load32_splat(xr + 2);                                                  \
    a0 = fma4(a0, s, w2), a1 = fma4(a1, s, w1), a2 = fma4(a2, s, w0);                    \
    s = wasm_v128_load32_splat(xr + 3);                                                  \
    a1 = fma4(a1, s, w2), a2 = fma4(a2, s, w1), a3 = fma4(a3, s, w0);                    \
    s = wasm_v128_load32_splat(xr + 4);                                                  \
    a2 = fma4(a2, s, w2), a3 = fma4(a3, s, w1);                                          \
    s = wasm_v128_load32_splat(xr + 5);                                                  \
    a3 = fma4(a3, s, w2);                                                                \
  }
#define C1_TAPS1(r, w0, w1, w2)                                                                          \
  if (rows > r) {                                                                                        \
    const float *xr = x + r * row + q;                                                                   \
    a0 = fma4(fma4(fma4(a0, wasm_v128_load32_splat(xr), w0), wasm_v128_load32_splat(xr + 1), w1),       \
              wasm_v128_load32_splat(xr + 2), w2);                                                       \
  }

static __attribute__((noinline)) void conv3x3_c1_row(const float *x, int row, const float *w, int co, int rows,
                                                     float *out, int cols, const float *bias, int tail) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int c = 0; c < co; c += 4) {
    const float *wc = w + c;
    const v128_t w00 = wasm_v128_load(wc), w01 = wasm_v128_load(wc + co), w02 = wasm_v128_load(wc + 2 * co);
    const v128_t w10 = rows > 1 ? wasm_v128_load(wc + 3 * co) : zero, w11 = rows > 1 ? wasm_v128_load(wc + 4 * co) : zero;
    const v128_t w12 = rows > 1 ? wasm_v128_load(wc + 5 * co) : zero, w20 = rows > 2 ? wasm_v128_load(wc + 6 * co) : zero;
    const v128_t w21 = rows > 2 ? wasm_v128_load(wc + 7 * co) : zero, w22 = rows > 2 ? wasm_v128_load(wc + 8 * co) : zero;
    int q = 0;
    for (; q + 4 <= cols; q += 4) {
      v128_t a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      C1_TAPS(0, w00, w01, w02)
      C1_TAPS(1, w10, w11, w12)
      C1_TAPS(2, w20, w21, w22)
      float *o = out + q * co + c;
      wasm_v128_store(o, bias_relu4(a0, bias + c, tail));
      wasm_v128_store(o + co, bias_relu4(a1, bias + c, tail));
      wasm_v128_store(o + 2 * co, bias_relu4(a2, bias + c, tail));
      wasm_v128_store(o + 3 * co, bias_relu4(a3, bias + c, tail));
    }
    for (; q < cols; q++) {
      v128_t a0 = zero;
      C1_TAPS1(0, w00, w01, w02)
      C1_TAPS1(1, w10, w11, w12)
      C1_TAPS1(2, w20, w21, w22)
      wasm_v128_store(out + q * co + c, bias_relu4(a0, bias + c, tail));
    }
  }
}

/*
 * Forward 2-D convolution, NHWC, filter [kh, kw, ci, co]:
 * y[n, oy, ox, co] = sum_{a, b, c} x[n, oy*sh + a*dh - top, ox*sw + b*dwl - left, c] * w[a, b, c, co]
 * (zero outside the image). Per output row, one GEMM of the output columns
 * by co whose sum runs over the taps (a, b, c): a segment per filter row
 * inside the image, the taps (b, c) of a row being consecutive in x with
 * dilation 1 (on the columns where every tap is inside the image); border
 * columns go tap by tap. `tail` adds a bias per output channel (bit 1)
 * and then applies a ReLU (bit 2) to each output row while it is still in
 * cache (bias_relu_row).
 */
void EXPORT(conv2d)(const float *x, const float *w, float *y, int n_batch, int height, int width, int ci,
                    int out_height, int out_width, int co, int kh, int kw, int sh, int sw, int dh, int dwl,
                    int pad_top, int pad_left, const float *bias, int tail) {
  const int row_taps = kw * ci;
  const int rs = sw * ci;
  const int a_seg = dh * width * ci;
  const int b_seg = row_taps * co;
  int all0, all1;
  inside(-pad_left, sw, width - (kw - 1) * dwl, out_width, &all0, &all1);
  const int merged = dwl == 1 && all1 > all0;
  // One input channel, 3x3, stride 1: the interior columns by conv3x3_c1_row.
  const int c1 = ci == 1 && kh == 3 && kw == 3 && sw == 1 && dh == 1 && (co & 3) == 0;
  for (int n = 0; n < n_batch; n++) {
    for (int oy = 0; oy < out_height; oy++) {
      float *out = y + (uint32_t)((n * out_height + oy) * out_width) * co;
      int a0, a1;
      inside(oy * sh - pad_top, dh, height, kh, &a0, &a1);
      const float *xrow = x + (uint32_t)((n * height + oy * sh + a0 * dh - pad_top) * width) * ci;
      const float *wa = w + (uint32_t)(a0 * row_taps) * co;
      if (merged && a1 > a0) {
        // The interior columns are written whole; the border ones accumulate from zero.
        __builtin_memset(out, 0, (uint32_t)all0 * co * sizeof(float));
        __builtin_memset(out + all1 * co, 0, (uint32_t)(out_width - all1) * co * sizeof(float));
        if (c1) {
          conv3x3_c1_row(xrow + (all0 - pad_left), width, wa, co, a1 - a0, out + all0 * co, all1 - all0, bias, tail);
        } else {
          gemm_panel(all1 - all0, co, xrow + (all0 * sw - pad_left) * ci, rs, 1, a_seg, wa, co, b_seg, out + all0 * co,
                     co, row_taps, a1 - a0, 0);
        }
      } else {
        __builtin_memset(out, 0, (uint32_t)out_width * co * sizeof(float));
      }
      for (int b = 0; a1 > a0 && b < kw; b++) {
        const int shift = b * dwl - pad_left;
        int s0, s1;
        inside(shift, sw, width, out_width, &s0, &s1);
        const float *wb = wa + (uint32_t)(b * ci) * co;
        const int e0 = merged && all0 < s1 ? all0 : s1;
        const int e1 = merged && all1 > s0 ? all1 : s1;
        if (e0 > s0) gemm_panel(e0 - s0, co, xrow + (s0 * sw + shift) * ci, rs, 1, a_seg, wb, co, b_seg, out + s0 * co, co, ci, a1 - a0, 1);
        if (merged && s1 > e1) gemm_panel(s1 - e1, co, xrow + (e1 * sw + shift) * ci, rs, 1, a_seg, wb, co, b_seg, out + e1 * co, co, ci, a1 - a0, 1);
      }
      if (tail && c1 && merged && a1 > a0) {
        // The interior columns got theirs from conv3x3_c1_row.
        bias_relu_row(out, all0, co, bias, tail);
        bias_relu_row(out + all1 * co, out_width - all1, co, bias, tail);
      } else if (tail) {
        bias_relu_row(out, out_width, co, bias, tail);
      }
    }
  }
}

/*
 * Input gradient of a 2-D convolution (dilation 1), NHWC, filter [kh, kw, ci, co]:
 * dx[n, y, x, c] = sum dy[n, oy, ox, k] * w[a, b, c, k] over oy*sh + a - top = y, ox*sw + b - left = x.
 * Computed directly rather than as a convolution of dy dilated by the stride
 * (whose inserted zeros take (sh*sw - 1)/(sh*sw) of the multiply-adds): the
 * rows y with (y + top) mod sh = ry only meet filter rows a = ry + sh*t, the
 * columns likewise, so each of the sh*sw phases (ry, rx) is a stride-1
 * correlation of dy with that phase's taps, written to every sw-th column of
 * dx (ldc = sw*ci). `wp` is the filter packed by the caller, phase after
 * phase (ry major), each as [Ta][Tb][co][ci] with its taps in ascending dy
 * order: wp[ta][tb][k][c] = w[ry + sh*(Ta-1-ta), rx + sw*(Tb-1-tb), c, k],
 * Ta = ceil((kh - ry) / sh), Tb = ceil((kw - rx) / sw). Per dx row and
 * phase, one GEMM of the phase's columns by ci whose sum runs over the taps
 * (a segment per dy row; the taps (tb, k) of a row consecutive in dy) on the
 * columns where every tap is inside dy; border columns tap by tap.
 */
void EXPORT(conv2d_input_grad)(const float *dy, const float *wp, float *dx, int n_batch, int height, int width,
                               int ci, int out_height, int out_width, int co, int kh, int kw, int sh, int sw,
                               int pad_top, int pad_left) {
  const int taps = co * ci;
  for (int n = 0; n < n_batch; n++) {
    for (int y = 0; y < height; y++) {
      float *dxrow = dx + (uint32_t)((n * height + y) * width) * ci;
      __builtin_memset(dxrow, 0, (uint32_t)width * ci * sizeof(float));
      const int ry = (y + pad_top) % sh;
      const int q = (y + pad_top - ry) / sh;
      const int ta_n = (kh - ry + sh - 1) / sh;
      if (ta_n <= 0) continue;
      // Filter rows of the phases before ry, in the packing order.
      int rows_before = 0;
      for (int r = 0; r < ry; r++) rows_before += (kh - r + sh - 1) / sh;
      // dy row q - (ta_n - 1) + t for packed row t: those inside dy.
      int t0 = ta_n - 1 - q, t1 = out_height - q + ta_n - 1;
      if (t0 < 0) t0 = 0;
      if (t1 > ta_n) t1 = ta_n;
      if (t1 <= t0) continue;
      const float *dyrow = dy + (uint32_t)((n * out_height + q - (ta_n - 1) + t0) * out_width) * co;
      int cols_before = 0;
      for (int rx = 0; rx < sw; rx++) {
        const int tb_n = (kw - rx + sw - 1) / sw;
        const float *wph = wp + (uint32_t)(rows_before * kw + ta_n * cols_before) * taps;
        cols_before += tb_n;
        if (tb_n <= 0) continue;
        const int x0 = ((rx - pad_left) % sw + sw) % sw;
        if (x0 >= width) continue;
        const int nx = (width - x0 + sw - 1) / sw;
        const int p0 = (x0 + pad_left - rx) / sw;
        const int b_seg = tb_n * taps;
        const float *wrow = wph + (uint32_t)t0 * b_seg;
        float *c0 = dxrow + x0 * ci;
        const int ldc = sw * ci;
        // Phase column j reads dy columns j + p0 - (tb_n - 1) + tb.
        int all0, all1;
        inside(p0 - (tb_n - 1), 1, out_width - (tb_n - 1), nx, &all0, &all1);
        const int merged = all1 > all0;
        if (merged && ci == 1) {
          // One input channel (a first layer): dot products along the taps.
          dot_panel(all1 - all0, dyrow + (all0 + p0 - (tb_n - 1)) * co, co, 1, out_width * co, wrow, ci, b_seg,
                    c0 + all0 * ldc, ldc, tb_n * co, t1 - t0, 1);
        } else if (merged) {
          gemm_panel(all1 - all0, ci, dyrow + (all0 + p0 - (tb_n - 1)) * co, co, 1, out_width * co, wrow, ci, b_seg,
                     c0 + all0 * ldc, ldc, tb_n * co, t1 - t0, 1);
        }
        for (int tb = 0; tb < tb_n; tb++) {
          const int shift = p0 - (tb_n - 1) + tb;
          int s0, s1;
          inside(shift, 1, out_width, nx, &s0, &s1);
          const float *wt = wrow + tb * taps;
          const int e0 = merged && all0 < s1 ? all0 : s1;
          const int e1 = merged && all1 > s0 ? all1 : s1;
          if (e0 > s0) gemm_panel(e0 - s0, ci, dyrow + (s0 + shift) * co, co, 1, out_width * co, wt, ci, b_seg, c0 + s0 * ldc, ldc, co, t1 - t0, 1);
          if (merged && s1 > e1) gemm_panel(s1 - e1, ci, dyrow + (e1 + shift) * co, co, 1, out_width * co, wt, ci, b_seg, c0 + e1 * ldc, ldc, co, t1 - t0, 1);
        }
      }
    }
  }
}

/*
 * Winograd F(4x4, 3x3) (Lavin & Gray, 2016): a 3x3 convolution at stride 1
 * as 36 small matrix products, one per point of a 6x6 transformed input
 * patch (interpolation points 0, +-1, +-2 and infinity), instead of 9 taps
 * per output: 36 multiply-adds per 4x4 outputs and channel pair where the
 * direct kernel takes 144 (4x fewer; the transforms are a few additions and
 * multiplications by small constants). Each output is the same sum in
 * another order, its terms scaled by up to 5 and 1/24 on the way, so it
 * differs from conv2d's in the last bits (the tests bound by how much).
 * F(2x2, 3x3) (16 products per 2x2 outputs) was this package's first form:
 * F(4x4, 3x3) took 13 % off the reference CNN's step and 4-13 % off the
 * shipped models' (bench/profile-step.ts, alternating).
 *
 * wino_filter: u[p][i][o] (p = 6r + s, the transformed patch's points) =
 * (G g G^T)[r][s], G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 * 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1], g the 3x3 taps of w [3, 3, ci, co]
 * for channels (c, k): as they are (flip 0: i = c, o = k), or rotated by 180
 * degrees with the channel axes swapped (flip 1: i = k, o = c), the filter
 * whose convolution of dy is the input gradient.
 */
#define WINO_G(v0, v1, v2, o0, o1, o2, o3, o4, o5)                                                   \
  const float o0 = 0.25f * v0, o5 = v2;                                                            \
  const float o1 = (-1.0f / 6.0f) * ((v0 + v2) + v1), o2 = (-1.0f / 6.0f) * ((v0 + v2) - v1);      \
  const float o3 = ((1.0f / 24.0f) * v0 + (1.0f / 6.0f) * v2) + (1.0f / 12.0f) * v1;               \
  const float o4 = ((1.0f / 24.0f) * v0 + (1.0f / 6.0f) * v2) - (1.0f / 12.0f) * v1;

void EXPORT(wino_filter)(const float *w, float *u, int ci, int co, int flip) {
  const int ni = flip ? co : ci, no = flip ? ci : co;
  const int plane = ni * no;
  for (int i = 0; i < ni; i++) {
    for (int o = 0; o < no; o++) {
      const int c = flip ? o : i, k = flip ? i : o;
      const float *g = w + c * co + k;
      const int t = ci * co;
#define TAP(a, b) g[(flip ? (2 - (a)) * 3 + 2 - (b) : (a) * 3 + (b)) * t]
      WINO_G(TAP(0, 0), TAP(1, 0), TAP(2, 0), t00, t10, t20, t30, t40, t50)
      WINO_G(TAP(0, 1), TAP(1, 1), TAP(2, 1), t01, t11, t21, t31, t41, t51)
      WINO_G(TAP(0, 2), TAP(1, 2), TAP(2, 2), t02, t12, t22, t32, t42, t52)
#undef TAP
      float *out = u + i * no + o;
#define ROW(r, v0, v1, v2)                                                                         \
  {                                                                                                \
    WINO_G(v0, v1, v2, s0, s1, s2, s3, s4, s5)                                                       \
    out[(6 * r + 0) * plane] = s0, out[(6 * r + 1) * plane] = s1, out[(6 * r + 2) * plane] = s2;   \
    out[(6 * r + 3) * plane] = s3, out[(6 * r + 4) * plane] = s4, out[(6 * r + 5) * plane] = s5;   \
  }
      ROW(0, t00, t01, t02)
      ROW(1, t10, t11, t12)
      ROW(2, t20, t21, t22)
      ROW(3, t30, t31, t32)
      ROW(4, t40, t41, t42)
      ROW(5, t50, t51, t52)
#undef ROW
    }
  }
}

/* Tiles per block: a block's transformed inputs and products stay in the L2 cache (16 measured
 * best of 8, 16 and 32 on the bench models' shapes). */
#define WINO_TILES 16

/* B^T d B along one axis, six values to six: 4d0 - 5d2 + d4, (d4 - 4d2) +- (d3 - 4d1),
 * (d4 - d2) +- 2(d3 - d1), 4d1 - 5d3 + d5. */
#define WINO_B(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                                        \
  const v128_t o0 = fma4(fma4(d4, d0, four), d2, mfive), o5 = fma4(fma4(d5, d1, four), d3, mfive);  \
  const v128_t o0##_ta = fma4(d4, d2, mfour), o0##_tb = fma4(d3, d1, mfour);                              \
  const v128_t o1 = wasm_f32x4_add(o0##_ta, o0##_tb), o2 = wasm_f32x4_sub(o0##_ta, o0##_tb);                    \
  const v128_t o0##_tc = wasm_f32x4_sub(d4, d2), o0##_td = wasm_f32x4_mul(wasm_f32x4_sub(d3, d1), two);   \
  const v128_t o3 = wasm_f32x4_add(o0##_tc, o0##_td), o4 = wasm_f32x4_sub(o0##_tc, o0##_td);

/* A^T m A along one axis, six values to four: m0 + (m1 + m2) + (m3 + m4), (m1 - m2) + 2(m3 - m4),
 * (m1 + m2) + 4(m3 + m4), (m1 - m2) + 8(m3 - m4) + m5. */
#define WINO_A(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                                                \
  const v128_t o0##s12 = wasm_f32x4_add(m1, m2), o0##d12 = wasm_f32x4_sub(m1, m2);                 \
  const v128_t o0##s34 = wasm_f32x4_add(m3, m4), o0##d34 = wasm_f32x4_sub(m3, m4);                 \
  const v128_t o0 = wasm_f32x4_add(wasm_f32x4_add(m0, o0##s12), o0##s34);                          \
  const v128_t o1 = fma4(o0##d12, o0##d34, two), o2 = fma4(o0##s12, o0##s34, four);                \
  const v128_t o3 = wasm_f32x4_add(fma4(o0##d12, o0##d34, eight), m5);

#define WINO_IN(LD)                                                                                  \
  {                                                                                                \
    WINO_B(LD(0, 0), LD(1, 0), LD(2, 0), LD(3, 0), LD(4, 0), LD(5, 0), r00, r10, r20, r30, r40, r50)  \
    WINO_B(LD(0, 1), LD(1, 1), LD(2, 1), LD(3, 1), LD(4, 1), LD(5, 1), r01, r11, r21, r31, r41, r51)  \
    WINO_B(LD(0, 2), LD(1, 2), LD(2, 2), LD(3, 2), LD(4, 2), LD(5, 2), r02, r12, r22, r32, r42, r52)  \
    WINO_B(LD(0, 3), LD(1, 3), LD(2, 3), LD(3, 3), LD(4, 3), LD(5, 3), r03, r13, r23, r33, r43, r53)  \
    WINO_B(LD(0, 4), LD(1, 4), LD(2, 4), LD(3, 4), LD(4, 4), LD(5, 4), r04, r14, r24, r34, r44, r54)  \
    WINO_B(LD(0, 5), LD(1, 5), LD(2, 5), LD(3, 5), LD(4, 5), LD(5, 5), r05, r15, r25, r35, r45, r55)  \
    WINO_IN_ROW(0, r00, r01, r02, r03, r04, r05)                                                     \
    WINO_IN_ROW(1, r10, r11, r12, r13, r14, r15)                                                     \
    WINO_IN_ROW(2, r20, r21, r22, r23, r24, r25)                                                     \
    WINO_IN_ROW(3, r30, r31, r32, r33, r34, r35)                                                     \
    WINO_IN_ROW(4, r40, r41, r42, r43, r44, r45)                                                     \
    WINO_IN_ROW(5, r50, r51, r52, r53, r54, r55)                                                     \
  }
#define WINO_IN_ROW(r, a, b, cc, d, e, f)                                                            \
  {                                                                                                \
    WINO_B(a, b, cc, d, e, f, q0, q1, q2, q3, q4, q5)                                                \
    float *vr = vt + 6 * (r) * vp;                                                                 \
    wasm_v128_store(vr, q0), wasm_v128_store(vr + vp, q1), wasm_v128_store(vr + 2 * vp, q2);       \
    wasm_v128_store(vr + 3 * vp, q3), wasm_v128_store(vr + 4 * vp, q4), wasm_v128_store(vr + 5 * vp, q5); \
  }

/*
 * The input transforms (B^T d B of each 6x6 patch, every 4 pixels) of tiles t0 .. t0 + tb - 1 of an
 * image into v [36][tiles][ci] (point stride vp). A patch wholly inside the image is read in
 * place; one that crosses its border from a copy with zeros outside the image (`copy`: 36 * ci
 * floats).
 */
static void wino_input(const float *img, float *v, int vp, int t0, int tb, int tiles_x, int height, int width,
                       int ci, int pad_top, int pad_left, float *copy) {
  const v128_t four = wasm_f32x4_splat(4.0f), mfour = wasm_f32x4_splat(-4.0f), mfive = wasm_f32x4_splat(-5.0f);
  const v128_t two = wasm_f32x4_splat(2.0f), zero = wasm_f32x4_splat(0.0f);
  for (int t = 0; t < tb; t++) {
    const int iy = 4 * ((t0 + t) / tiles_x) - pad_top, ix = 4 * ((t0 + t) % tiles_x) - pad_left;
    const float *patch = img + iy * width * ci + ix * ci;
    int ws = width * ci;
    if (iy < 0 || ix < 0 || iy + 6 > height || ix + 6 > width) {
      // A patch across the border: its pixels copied with zeros outside the image (6x6 of ci
      // floats), then transformed by the same code as an inner one (one copy of the transform in
      // the module instead of two: 3.4 KB smaller, as fast within this host's noise).
      for (int r = 0; r < 6; r++) {
        for (int s = 0; s < 6; s++) {
          float *to = copy + (r * 6 + s) * ci;
          if ((unsigned)(iy + r) < (unsigned)height && (unsigned)(ix + s) < (unsigned)width) {
            const float *from = img + ((iy + r) * width + ix + s) * ci;
            for (int c = 0; c < ci; c += 4) wasm_v128_store(to + c, wasm_v128_load(from + c));
          } else {
            for (int c = 0; c < ci; c += 4) wasm_v128_store(to + c, zero);
          }
        }
      }
      patch = copy;
      ws = 6 * ci;
    }
    for (int c = 0; c < ci; c += 4) {
      float *vt = v + t * ci + c;
#define LD(r, s) wasm_v128_load(patch + (r) * ws + (s) * ci + c)
      WINO_IN(LD)
#undef LD
    }
  }
}

/*
 * The output transforms (A^T m A) of tiles t0 .. t0 + tb - 1 from m [36][tiles][co] (point stride
 * mp) into the image's output, with the tail as bias_relu_row applies it (bias_relu4); a tile's
 * outputs past the image's last row or column are dropped. Inlined with a constant tail.
 */
INLINE void wino_output(const float *m, int mp, float *out, int t0, int tb, int tiles_x, int out_height,
                         int out_width, int co, const float *bias, int tail) {
  const v128_t two = wasm_f32x4_splat(2.0f), four = wasm_f32x4_splat(4.0f), eight = wasm_f32x4_splat(8.0f);
  for (int t = 0; t < tb; t++) {
    const int oy = 4 * ((t0 + t) / tiles_x), ox = 4 * ((t0 + t) % tiles_x);
    const int rows = out_height - oy < 4 ? out_height - oy : 4, cols = out_width - ox < 4 ? out_width - ox : 4;
    float *o = out + (oy * out_width + ox) * co;
    for (int k = 0; k < co; k += 4) {
      const float *mt = m + t * co + k;
#define LD(p) wasm_v128_load(mt + (p) * mp)
      // Down each column of points first (A^T m), then along the four rows.
      WINO_A(LD(0), LD(6), LD(12), LD(18), LD(24), LD(30), a0, b0, c0, d0)
      WINO_A(LD(1), LD(7), LD(13), LD(19), LD(25), LD(31), a1, b1, c1, d1)
      WINO_A(LD(2), LD(8), LD(14), LD(20), LD(26), LD(32), a2, b2, c2, d2)
      WINO_A(LD(3), LD(9), LD(15), LD(21), LD(27), LD(33), a3, b3, c3, d3)
      WINO_A(LD(4), LD(10), LD(16), LD(22), LD(28), LD(34), a4, b4, c4, d4)
      WINO_A(LD(5), LD(11), LD(17), LD(23), LD(29), LD(35), a5, b5, c5, d5)
#undef LD
#define ROW(r, m0, m1, m2, m3, m4, m5)                                                             \
  if (r < rows) {                                                                                  \
    WINO_A(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                                   \
    float *orow = o + (r) * out_width * co + k;                                                    \
    wasm_v128_store(orow, bias_relu4(y0, bias + k, tail));                                         \
    if (cols > 1) wasm_v128_store(orow + co, bias_relu4(y1, bias + k, tail));                      \
    if (cols > 2) wasm_v128_store(orow + 2 * co, bias_relu4(y2, bias + k, tail));                  \
    if (cols > 3) wasm_v128_store(orow + 3 * co, bias_relu4(y3, bias + k, tail));                  \
  }
      ROW(0, a0, a1, a2, a3, a4, a5)
      ROW(1, b0, b1, b2, b3, b4, b5)
      ROW(2, c0, c1, c2, c3, c4, c5)
      ROW(3, d0, d1, d2, d3, d4, d5)
#undef ROW
    }
  }
}

/*
 * y = the stride-1 convolution of x [n, height, width, ci] by the filter that wino_filter
 * transformed into u, NHWC, y [n, out_height, out_width, co], x read from row -pad_top, column
 * -pad_left (zero outside), then the tail as in conv2d (bias bit 1, ReLU bit 2). ci and co are
 * multiples of 4. Per image, blocks of WINO_TILES 4x4 output tiles: the inputs' transforms into
 * v [36][tiles][ci], one product per point into m [36][tiles][co] (v . u[p]), the outputs'
 * transforms. `scratch` holds 36 * (WINO_TILES * (ci + co) + ci + 32) floats.
 */
void EXPORT(conv2d_wino)(const float *x, const float *u, float *y, int n_batch, int height, int width, int ci,
                          int out_height, int out_width, int co, int pad_top, int pad_left, const float *bias,
                          int tail, float *scratch) {
  const int tiles_x = (out_width + 3) / 4;
  const int tiles = ((out_height + 3) / 4) * tiles_x;
  // Each point's rows one cache line past a multiple of the block: with strides of a power of
  // two, a tile's 36 points fall in a few sets of the L1 cache (the F(2x2, 3x3) form ran its
  // transforms twice as fast once padded so).
  const int vp = WINO_TILES * ci + 16, mp = WINO_TILES * co + 16;
  float *v = scratch;
  float *m = scratch + 36 * vp;
  for (int n = 0; n < n_batch; n++) {
    const float *img = x + (uint32_t)(n * height * width) * ci;
    float *out = y + (uint32_t)(n * out_height * out_width) * co;
    for (int t0 = 0; t0 < tiles; t0 += WINO_TILES) {
      const int tb = tiles - t0 < WINO_TILES ? tiles - t0 : WINO_TILES;
      wino_input(img, v, vp, t0, tb, tiles_x, height, width, ci, pad_top, pad_left, m + 36 * mp);
      for (int p = 0; p < 36; p++) {
        gemm_panel(tb, co, v + p * vp, ci, 1, 0, u + (uint32_t)(p * ci) * co, co, 0, m + p * mp, co, ci, 1, 0);
      }
      switch (tail) {
        case 0: wino_output(m, mp, out, t0, tb, tiles_x, out_height, out_width, co, bias, 0); break;
        case 1: wino_output(m, mp, out, t0, tb, tiles_x, out_height, out_width, co, bias, 1); break;
        case 2: wino_output(m, mp, out, t0, tb, tiles_x, out_height, out_width, co, bias, 2); break;
        default: wino_output(m, mp, out, t0, tb, tiles_x, out_height, out_width, co, bias, 3); break;
      }
    }
  }
}

/* Tiles per block of the filter gradient: the sums over tiles are its products' k. */
#define WINO_GRAD_TILES 32

/* A y A^T along one axis (A = the transpose of WINO_A's A^T), four values to six: y0,
 * (y0 + y2) +- (y1 + y3), (y0 + 4y2) +- (2y1 + 8y3), y3. */
#define WINO_AT(y0, y1, y2, y3, o0, o1, o2, o3, o4, o5)                                               \
  const v128_t o0##_s02 = wasm_f32x4_add(y0, y2), o0##_s13 = wasm_f32x4_add(y1, y3);               \
  const v128_t o0##_f02 = fma4(y0, y2, four), o0##_f13 = fma4(wasm_f32x4_add(y1, y1), y3, eight);  \
  const v128_t o0 = y0, o5 = y3;                                                                   \
  const v128_t o1 = wasm_f32x4_add(o0##_s02, o0##_s13), o2 = wasm_f32x4_sub(o0##_s02, o0##_s13);   \
  const v128_t o3 = wasm_f32x4_add(o0##_f02, o0##_f13), o4 = wasm_f32x4_sub(o0##_f02, o0##_f13);

/* G^T m G along one axis, six values to three: m0/4 - (m1 + m2)/6 + (m3 + m4)/24,
 * (m2 - m1)/6 + (m3 - m4)/12, ((m3 + m4) - (m1 + m2))/6 + m5. */
#define WINO_GT(m0, m1, m2, m3, m4, m5, o0, o1, o2)                                                  \
  const v128_t o0##_s12 = wasm_f32x4_add(m1, m2), o0##_s34 = wasm_f32x4_add(m3, m4);               \
  const v128_t o0 = fma4(fma4(wasm_f32x4_mul(m0, quarter), o0##_s12, msixth), o0##_s34, twentyfourth); \
  const v128_t o1 = fma4(wasm_f32x4_mul(wasm_f32x4_sub(m2, m1), sixth), wasm_f32x4_sub(m3, m4), twelfth); \
  const v128_t o2 = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(o0##_s34, o0##_s12), sixth), m5);

/*
 * The filter gradient of a convolution that conv2d_wino computes, dw [3, 3, ci, co] (written,
 * not accumulated), for x [n, height, width, ci] and dy [n, out_height, out_width, co]. By the
 * forward pass's Winograd form y = A^T (U . V) A per 4x4 tile of dy, U = G g G^T: the gradient of
 * g is G^T (sum over tiles of V . (A dy A^T)) G, i.e. per transformed point p one product m[p]
 * [ci x co] += v[p]^T e[p] whose sum runs over the tiles (all of them, blocks of WINO_GRAD_TILES
 * at a time), and G^T m G once at the end. Tiles past dy's last row or column have zero dy there.
 * ci and co are multiples of 4. `scratch` holds
 * 36 * (ci * co + WINO_GRAD_TILES * (ci + co) + ci + 48) floats.
 */
void EXPORT(conv2d_wino_filter_grad)(const float *x, const float *dy, float *dw, int n_batch, int height, int width,
                                      int ci, int out_height, int out_width, int co, int pad_top, int pad_left,
                                      float *scratch) {
  const int tiles_x = (out_width + 3) / 4;
  const int tiles = ((out_height + 3) / 4) * tiles_x;
  // Point strides one cache line past a multiple of a power of two (see conv2d_wino).
  const int mp = ci * co + 16, vp = WINO_GRAD_TILES * ci + 16, ep = WINO_GRAD_TILES * co + 16;
  float *m = scratch;
  float *v = m + 36 * mp;
  float *e = v + 36 * vp;
  __builtin_memset(m, 0, (uint32_t)(36 * mp) * sizeof(float));
  const v128_t zero = wasm_f32x4_splat(0.0f), four = wasm_f32x4_splat(4.0f), eight = wasm_f32x4_splat(8.0f);
  for (int n = 0; n < n_batch; n++) {
    const float *img = x + (uint32_t)(n * height * width) * ci;
    const float *g = dy + (uint32_t)(n * out_height * out_width) * co;
    for (int t0 = 0; t0 < tiles; t0 += WINO_GRAD_TILES) {
      const int tb = tiles - t0 < WINO_GRAD_TILES ? tiles - t0 : WINO_GRAD_TILES;
      wino_input(img, v, vp, t0, tb, tiles_x, height, width, ci, pad_top, pad_left, e + 36 * ep);
      for (int t = 0; t < tb; t++) {
        const int oy = 4 * ((t0 + t) / tiles_x), ox = 4 * ((t0 + t) % tiles_x);
        const int rows = out_height - oy, cols = out_width - ox;
        const float *d = g + (oy * out_width + ox) * co;
        for (int k = 0; k < co; k += 4) {
#define LD(i, j) ((i) < rows && (j) < cols ? wasm_v128_load(d + ((i) * out_width + (j)) * co + k) : zero)
          // Down the columns first (points 6r + s over r), then along each row r.
          WINO_AT(LD(0, 0), LD(1, 0), LD(2, 0), LD(3, 0), c00, c10, c20, c30, c40, c50)
          WINO_AT(LD(0, 1), LD(1, 1), LD(2, 1), LD(3, 1), c01, c11, c21, c31, c41, c51)
          WINO_AT(LD(0, 2), LD(1, 2), LD(2, 2), LD(3, 2), c02, c12, c22, c32, c42, c52)
          WINO_AT(LD(0, 3), LD(1, 3), LD(2, 3), LD(3, 3), c03, c13, c23, c33, c43, c53)
#undef LD
          float *et = e + t * co + k;
#define ROW(r, a, b, cc, dd)                                                                       \
  {                                                                                                \
    WINO_AT(a, b, cc, dd, q0, q1, q2, q3, q4, q5)                                                    \
    float *er = et + 6 * (r) * ep;                                                                 \
    wasm_v128_store(er, q0), wasm_v128_store(er + ep, q1), wasm_v128_store(er + 2 * ep, q2);       \
    wasm_v128_store(er + 3 * ep, q3), wasm_v128_store(er + 4 * ep, q4), wasm_v128_store(er + 5 * ep, q5); \
  }
          ROW(0, c00, c01, c02, c03)
          ROW(1, c10, c11, c12, c13)
          ROW(2, c20, c21, c22, c23)
          ROW(3, c30, c31, c32, c33)
          ROW(4, c40, c41, c42, c43)
          ROW(5, c50, c51, c52, c53)
#undef ROW
        }
      }
      for (int p = 0; p < 36; p++) {
        gemm_panel(ci, co, v + p * vp, 1, ci, 0, e + p * ep, co, 0, m + p * mp, co, tb, 1, 1);
      }
    }
  }
  const v128_t quarter = wasm_f32x4_splat(0.25f), sixth = wasm_f32x4_splat(1.0f / 6.0f);
  const v128_t msixth = wasm_f32x4_splat(-1.0f / 6.0f), twelfth = wasm_f32x4_splat(1.0f / 12.0f);
  const v128_t twentyfourth = wasm_f32x4_splat(1.0f / 24.0f);
  for (int c = 0; c < ci; c++) {
    for (int k = 0; k < co; k += 4) {
      const float *mt = m + c * co + k;
#define LD(p) wasm_v128_load(mt + (p) * mp)
      WINO_GT(LD(0), LD(6), LD(12), LD(18), LD(24), LD(30), a00, a10, a20)
      WINO_GT(LD(1), LD(7), LD(13), LD(19), LD(25), LD(31), a01, a11, a21)
      WINO_GT(LD(2), LD(8), LD(14), LD(20), LD(26), LD(32), a02, a12, a22)
      WINO_GT(LD(3), LD(9), LD(15), LD(21), LD(27), LD(33), a03, a13, a23)
      WINO_GT(LD(4), LD(10), LD(16), LD(22), LD(28), LD(34), a04, a14, a24)
      WINO_GT(LD(5), LD(11), LD(17), LD(23), LD(29), LD(35), a05, a15, a25)
#undef LD
      float *out = dw + c * co + k;
      const int tap = ci * co;
#define ROW(a, m0, m1, m2, m3, m4, m5)                                                             \
  {                                                                                                \
    WINO_GT(m0, m1, m2, m3, m4, m5, q0, q1, q2)                                                      \
    wasm_v128_store(out + (3 * a + 0) * tap, q0), wasm_v128_store(out + (3 * a + 1) * tap, q1);    \
    wasm_v128_store(out + (3 * a + 2) * tap, q2);                                                  \
  }
      ROW(0, a00, a01, a02, a03, a04, a05)
      ROW(1, a10, a11, a12, a13, a14, a15)
      ROW(2, a20, a21, a22, a23, a24, a25)
#undef ROW
    }
  }
}

/*
 * One Adam step over n values (AMSGrad when vmax is non-null), each
 * operation rounded to float32 on its own and in the order of the op-by-op
 * update in packages/models/src/adam.ts, so that the result is the same to
 * the bit (no contraction into fused multiply-adds):
 *   m' = m·b1 + g·(1−b1);  v' = v·b2 + (g·g)·(1−b2);  v̂ = max(vmax, v') or v';
 *   p' = p − (m' / (sqrt(v̂)·inv_bc2_sqrt + eps))·step_size.
 * One pass instead of a dozen, each of which reads and writes the whole
 * tensor. The outputs are new tensors (vmax_out unused without AMSGrad).
 */
void EXPORT(adam_update)(const float *p, const float *g, const float *m, const float *v, const float *vmax,
                         float *p_out, float *m_out, float *v_out, float *vmax_out, int n, float b1,
                         float omb1, float b2, float omb2, float step_size, float inv_bc2_sqrt, float eps) {
#pragma clang fp contract(off)
  const int n4 = n & ~3;
  const v128_t b1v = wasm_f32x4_splat(b1), omb1v = wasm_f32x4_splat(omb1);
  const v128_t b2v = wasm_f32x4_splat(b2), omb2v = wasm_f32x4_splat(omb2);
  const v128_t stepv = wasm_f32x4_splat(step_size), invv = wasm_f32x4_splat(inv_bc2_sqrt);
  const v128_t epsv = wasm_f32x4_splat(eps);
  for (int i = 0; i < n4; i += 4) {
    const v128_t gv = wasm_v128_load(g + i);
    const v128_t mv = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1v), wasm_f32x4_mul(gv, omb1v));
    const v128_t vv =
        wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2v), wasm_f32x4_mul(wasm_f32x4_mul(gv, gv), omb2v));
    wasm_v128_store(m_out + i, mv);
    wasm_v128_store(v_out + i, vv);
    v128_t vh = vv;
    if (vmax) {
      vh = wasm_f32x4_max(wasm_v128_load(vmax + i), vv);
      wasm_v128_store(vmax_out + i, vh);
    }
    const v128_t denom = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sqrt(vh), invv), epsv);
    wasm_v128_store(p_out + i, wasm_f32x4_sub(wasm_v128_load(p + i), wasm_f32x4_mul(wasm_f32x4_div(mv, denom), stepv)));
  }
  for (int i = n4; i < n; i++) {
    const float mi = m[i] * b1 + g[i] * omb1;
    const float vi = v[i] * b2 + (g[i] * g[i]) * omb2;
    m_out[i] = mi;
    v_out[i] = vi;
    float vh = vi;
    if (vmax) {
      vh = vmax[i] > vi ? vmax[i] : vi;
      vmax_out[i] = vh;
    }
    p_out[i] = p[i] - (mi / (__builtin_sqrtf(vh) * inv_bc2_sqrt + eps)) * step_size;
  }
}

/*
 * Normalisation statistics per image and channel (batch-statistics norm and
 * GroupNorm): x is `blocks` images of [rows, cols] (rows = H·W, cols = C);
 * for image b, acc[b·2·cols + c] = Σ_r x and acc[b·2·cols + cols + c] = Σ_r x²,
 * in float64 (a float32 square is exact in float64). One read of x instead of
 * tf.moments' mean, difference, square and second mean; the caller combines
 * images (batch statistics) or channels of a group (GroupNorm). With threads,
 * ranges of images.
 */
/* The upper two floats of v as float64. */
INLINE v128_t promote_high(v128_t v) { return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3)); }

/* p[0..4) += (lo, hi): four float64 sums. */
INLINE void add_f64x4(double *p, v128_t lo, v128_t hi) {
  wasm_v128_store(p, wasm_f64x2_add(wasm_v128_load(p), lo));
  wasm_v128_store(p + 2, wasm_f64x2_add(wasm_v128_load(p + 2), hi));
}

void EXPORT(norm_moments)(const float *x, double *acc, int blocks, int rows, int cols) {
  const int c4 = cols & ~3;
  for (int b = 0; b < blocks; b++) {
    double *s = acc + (uint32_t)b * 2 * cols;
    double *q = s + cols;
    for (int c = 0; c < 2 * cols; c++) s[c] = 0;
    const float *xb = x + (uint32_t)b * rows * cols;
    for (int r = 0; r < rows; r++) {
      const float *row = xb + (uint32_t)r * cols;
      for (int c = 0; c < c4; c += 4) {
        const v128_t v = wasm_v128_load(row + c);
        const v128_t lo = wasm_f64x2_promote_low_f32x4(v);
        const v128_t hi = promote_high(v);
        add_f64x4(s + c, lo, hi);
        add_f64x4(q + c, wasm_f64x2_mul(lo, lo), wasm_f64x2_mul(hi, hi));
      }
      for (int c = c4; c < cols; c++) {
        const double v = row[c];
        s[c] += v;
        q[c] += v * v;
      }
    }
  }
}

/*
 * The sums the normalisation's gradient needs, per image and channel:
 * acc[b·2·cols + c] = Σ_r dy and acc[b·2·cols + cols + c] = Σ_r dy·y (float64).
 * With relu_mask, dy is first multiplied by (y > 0): the gradient of a ReLU
 * applied to the normalisation's output y, which then needs no pass of its own.
 */
void EXPORT(norm_grad_moments)(const float *dy, const float *y, double *acc, int blocks, int rows, int cols,
                               int relu_mask) {
  const int c4 = cols & ~3;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int b = 0; b < blocks; b++) {
    double *s = acc + (uint32_t)b * 2 * cols;
    double *q = s + cols;
    for (int c = 0; c < 2 * cols; c++) s[c] = 0;
    const uint32_t base = (uint32_t)b * rows * cols;
    for (int r = 0; r < rows; r++) {
      const float *g = dy + base + (uint32_t)r * cols;
      const float *o = y + base + (uint32_t)r * cols;
      for (int c = 0; c < c4; c += 4) {
        const v128_t ov = wasm_v128_load(o + c);
        v128_t gv = wasm_v128_load(g + c);
        if (relu_mask) gv = wasm_v128_and(gv, wasm_f32x4_gt(ov, zero));
        const v128_t glo = wasm_f64x2_promote_low_f32x4(gv);
        const v128_t ghi = promote_high(gv);
        add_f64x4(s + c, glo, ghi);
        add_f64x4(q + c, wasm_f64x2_mul(glo, wasm_f64x2_promote_low_f32x4(ov)), wasm_f64x2_mul(ghi, promote_high(ov)));
      }
      for (int c = c4; c < cols; c++) {
        const float gc = relu_mask && !(o[c] > 0.0f) ? 0.0f : g[c];
        s[c] += gc;
        q[c] += (double)gc * o[c];
      }
    }
  }
}

/*
 * out = (x − b)·a per channel, image by image, where b (the mean) and a
 * (rsqrt(σ² + ε)) are the channel's coefficients (the image's own with
 * coef_stride = cols: GroupNorm; shared by all images with coef_stride = 0:
 * batch statistics). The normalisation's one writing pass; subtracting
 * before scaling, as tf.batchNorm does, keeps a large mean from costing
 * precision.
 */
void EXPORT(norm_apply)(const float *x, const float *a, const float *b, float *out, int blocks, int rows, int cols,
                        int coef_stride) {
  const int c4 = cols & ~3;
  for (int k = 0; k < blocks; k++) {
    const float *ak = a + (uint32_t)k * coef_stride;
    const float *bk = b + (uint32_t)k * coef_stride;
    const uint32_t base = (uint32_t)k * rows * cols;
    for (int r = 0; r < rows; r++) {
      const float *xr = x + base + (uint32_t)r * cols;
      float *o = out + base + (uint32_t)r * cols;
      for (int c = 0; c < c4; c += 4)
        wasm_v128_store(o + c, wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(bk + c)),
                                              wasm_v128_load(ak + c)));
      for (int c = c4; c < cols; c++) o[c] = (xr[c] - bk[c]) * ak[c];
    }
  }
}

/*
 * dx = dy·a + y·b + e per channel, image by image (coefficients as in
 * norm_apply): the normalisation's gradient rsqrt(σ² + ε)·(dy − mean(dy) −
 * y·mean(dy·y)) in one writing pass; with relu_mask, dy masked by (y > 0)
 * as in norm_grad_moments.
 */
void EXPORT(norm_grad_apply)(const float *dy, const float *y, const float *a, const float *b, const float *e,
                             float *dx, int blocks, int rows, int cols, int coef_stride, int relu_mask) {
  const int c4 = cols & ~3;
  const v128_t zero = wasm_f32x4_splat(0.0f);
  for (int k = 0; k < blocks; k++) {
    const float *ak = a + (uint32_t)k * coef_stride;
    const float *bk = b + (uint32_t)k * coef_stride;
    const float *ek = e + (uint32_t)k * coef_stride;
    const uint32_t base = (uint32_t)k * rows * cols;
    for (int r = 0; r < rows; r++) {
      const float *g = dy + base + (uint32_t)r * cols;
      const float *o = y + base + (uint32_t)r * cols;
      float *d = dx + base + (uint32_t)r * cols;
      for (int c = 0; c < c4; c += 4) {
        const v128_t ov = wasm_v128_load(o + c);
        v128_t gv = wasm_v128_load(g + c);
        if (relu_mask) gv = wasm_v128_and(gv, wasm_f32x4_gt(ov, zero));
        const v128_t t = wasm_f32x4_add(wasm_f32x4_mul(gv, wasm_v128_load(ak + c)), wasm_f32x4_mul(ov, wasm_v128_load(bk + c)));
        wasm_v128_store(d + c, wasm_f32x4_add(t, wasm_v128_load(ek + c)));
      }
      for (int c = c4; c < cols; c++) {
        const float gc = relu_mask && !(o[c] > 0.0f) ? 0.0f : g[c];
        d[c] = gc * ak[c] + o[c] * bk[c] + ek[c];
      }
    }
  }
}

/*
 * dst[r·dst_stride + c] = src[r·src_stride + c] for c < cols: one input's
 * share of a concatenation (or one output of a split) along an axis, rows
 * being the axes before it. tfjs-backend-wasm copies such rows one
 * TypedArray.set at a time, which for a U-Net skip connection's rows of 8
 * floats costs far more per row than the copy.
 */
void EXPORT(copy_rows)(const float *src, int src_stride, float *dst, int dst_stride, int rows, int cols) {
  const int c4 = cols & ~3;
  for (int r = 0; r < rows; r++) {
    const float *s = src + (uint32_t)r * src_stride;
    float *d = dst + (uint32_t)r * dst_stride;
    for (int c = 0; c < c4; c += 4) wasm_v128_store(d + c, wasm_v128_load(s + c));
    for (int c = c4; c < cols; c++) d[c] = s[c];
  }
}

/*
 * Average-pooling gradient, NHWC: every window passes dy·mult (mult =
 * 1 / (filter_h·filter_w), as tfjs divides whatever the padding) to each of
 * its positions inside the image; dx is cleared image by image first and
 * overlapping windows add up. tfjs-backend-wasm's own is a scalar loop per
 * input position (3 ms for DenseNet's one transition of 32×20×20×24).
 */
void EXPORT(avg_pool_grad)(const float *dy, float *dx, int n_batch, int height, int width, int channels,
                           int out_height, int out_width, int filter_h, int filter_w, int stride_h, int stride_w,
                           int pad_top, int pad_left, float mult) {
  const int c4 = channels & ~3;
  const v128_t m = wasm_f32x4_splat(mult);
  const uint32_t image = (uint32_t)height * width * channels;
  const uint32_t out_image = (uint32_t)out_height * out_width * channels;
  for (int n = 0; n < n_batch; n++) {
    float *dxn = dx + n * image;
    const float *dyn = dy + n * out_image;
    for (uint32_t i = 0; i < image; i++) dxn[i] = 0;
    for (int oy = 0; oy < out_height; oy++) {
      for (int ox = 0; ox < out_width; ox++) {
        const float *g = dyn + ((uint32_t)oy * out_width + ox) * channels;
        for (int a = 0; a < filter_h; a++) {
          const int iy = oy * stride_h - pad_top + a;
          if (iy < 0 || iy >= height) continue;
          for (int b = 0; b < filter_w; b++) {
            const int ix = ox * stride_w - pad_left + b;
            if (ix < 0 || ix >= width) continue;
            float *d = dxn + ((uint32_t)iy * width + ix) * channels;
            for (int c = 0; c < c4; c += 4)
              wasm_v128_store(d + c, wasm_f32x4_add(wasm_v128_load(d + c), wasm_f32x4_mul(wasm_v128_load(g + c), m)));
            for (int c = c4; c < channels; c++) d[c] += g[c] * mult;
          }
        }
      }
    }
  }
}

/*
 * Max pooling, NHWC: each output is the largest value in its window by
 * strict >, starting from -inf, as the cpu backend takes it (NaN never wins; a
 * window of NaN or -inf gives -inf). pmax(best, v) is best < v ? v : best,
 * exactly that step. Whole 2x2 windows over 4-wide channel vectors (the CNNs'
 * pools) in one straight pass; other windows clipped to the image.
 */
void EXPORT(max_pool)(const float *x, float *y, int n_batch, int height, int width, int channels, int out_height,
                      int out_width, int filter_h, int filter_w, int stride_h, int stride_w, int pad_top, int pad_left) {
  const int c4 = channels & ~3;
  const v128_t lowest = wasm_f32x4_splat(-__builtin_inff());
  for (int n = 0; n < n_batch; n++) {
    const float *xn = x + (uint32_t)n * height * width * channels;
    for (int oy = 0; oy < out_height; oy++) {
      const int top = oy * stride_h - pad_top;
      const int r0 = top < 0 ? 0 : top;
      const int r1 = top + filter_h < height ? top + filter_h : height;
      float *out = y + ((uint32_t)(n * out_height + oy) * out_width) * channels;
      for (int ox = 0; ox < out_width; ox++) {
        const int left = ox * stride_w - pad_left;
        const int q0 = left < 0 ? 0 : left;
        const int q1 = left + filter_w < width ? left + filter_w : width;
        float *o = out + ox * channels;
        const float *w0 = xn + ((uint32_t)r0 * width + q0) * channels;
        if (r1 - r0 == 2 && q1 - q0 == 2) {
          const float *w1 = w0 + width * channels;
          for (int c = 0; c < c4; c += 4) {
            v128_t best = wasm_f32x4_pmax(lowest, wasm_v128_load(w0 + c));
            best = wasm_f32x4_pmax(best, wasm_v128_load(w0 + channels + c));
            best = wasm_f32x4_pmax(best, wasm_v128_load(w1 + c));
            wasm_v128_store(o + c, wasm_f32x4_pmax(best, wasm_v128_load(w1 + channels + c)));
          }
        } else {
          for (int c = 0; c < c4; c += 4) {
            v128_t best = lowest;
            for (int r = r0; r < r1; r++) {
              for (int q = q0; q < q1; q++) best = wasm_f32x4_pmax(best, wasm_v128_load(xn + ((uint32_t)r * width + q) * channels + c));
            }
            wasm_v128_store(o + c, best);
          }
        }
        for (int c = c4; c < channels; c++) {
          float best = -__builtin_inff();
          for (int r = r0; r < r1; r++) {
            for (int q = q0; q < q1; q++) {
              const float v = xn[((uint32_t)r * width + q) * channels + c];
              if (best < v) best = v;
            }
          }
          o[c] = best;
        }
      }
    }
  }
}

/*
 * The 2x2/2 max pool of one image of ReLU outputs y [height, width, c] (c a multiple of 4; an
 * odd last row or column lies in no window, as in a valid pool) into pooled [height/2, width/2,
 * c], and per pooled value one byte of mask: the window position of the first maximum (0-3,
 * row-major; strict > from -inf, so the value is max_pool's and the position max_pool_grad's
 * winner) plus 4 when that maximum is > 0, i.e. where the ReLU passed it and a gradient flows.
 */
static void pool2_mask(const float *y, float *pooled, uint8_t *mask, int height, int width, int c) {
  const int ph = height / 2, pw = width / 2;
  const v128_t lowest = wasm_f32x4_splat(-__builtin_inff()), zero = wasm_f32x4_splat(0.0f);
  const v128_t live = wasm_i32x4_splat(4);
  for (int py = 0; py < ph; py++) {
    const float *r0 = y + (uint32_t)(2 * py * width) * c, *r1 = r0 + width * c;
    for (int px = 0; px < pw; px++) {
      const float *a = r0 + 2 * px * c, *b = r1 + 2 * px * c;
      float *o = pooled + (uint32_t)(py * pw + px) * c;
      uint8_t *m = mask + (uint32_t)(py * pw + px) * c;
      for (int k = 0; k < c; k += 4) {
        const v128_t v0 = wasm_v128_load(a + k), v1 = wasm_v128_load(a + c + k);
        const v128_t v2 = wasm_v128_load(b + k), v3 = wasm_v128_load(b + c + k);
        // max_pool's chain: pmax(best, v) is best < v ? v : best, the first maximum by strict >.
        const v128_t best = wasm_f32x4_pmax(wasm_f32x4_pmax(wasm_f32x4_pmax(wasm_f32x4_pmax(lowest, v0), v1), v2), v3);
        // Its position: the first v equal to it (3 + one -1 per prefix of the window that holds it).
        const v128_t e0 = wasm_f32x4_eq(v0, best), e01 = wasm_v128_or(e0, wasm_f32x4_eq(v1, best));
        const v128_t e012 = wasm_v128_or(e01, wasm_f32x4_eq(v2, best));
        v128_t at = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_splat(3), e0), wasm_i32x4_add(e01, e012));
        wasm_v128_store(o + k, best);
        at = wasm_v128_or(at, wasm_v128_and(wasm_f32x4_gt(best, zero), live));
        const v128_t narrow = wasm_u16x8_narrow_i32x4(at, at);
        wasm_v128_store32_lane(m + k, wasm_u8x16_narrow_i16x8(narrow, narrow), 0);
      }
    }
  }
}

/*
 * relu(conv2d(x, w) + bias) followed by a 2x2/2 max pool, without writing the convolution's
 * output to memory: each image's output goes to `scratch` (height' x width' x co floats, which
 * stays in cache) by conv2d or, with `wino`, conv2d_wino (w is then the transformed filter and
 * the rest of `scratch` its scratch), and pool2_mask writes the pooled image and its mask. The
 * convolution is stride sh x sw, dilation 1; co a multiple of 4.
 */
void EXPORT(conv2d_relu_max_pool)(const float *x, const float *w, float *pooled, uint8_t *mask, int n_batch,
                                  int height, int width, int ci, int out_height, int out_width, int co, int kh,
                                  int kw, int sh, int sw, int pad_top, int pad_left, const float *bias, int wino,
                                  float *scratch) {
  const int pooled_image = (out_height / 2) * (out_width / 2) * co;
  float *image = scratch, *rest = scratch + (uint32_t)out_height * out_width * co;
  for (int n = 0; n < n_batch; n++) {
    const float *xn = x + (uint32_t)(n * height * width) * ci;
    if (wino) {
      conv2d_wino(xn, w, image, 1, height, width, ci, out_height, out_width, co, pad_top, pad_left, bias, 3, rest);
    } else {
      conv2d(xn, w, image, 1, height, width, ci, out_height, out_width, co, kh, kw, sh, sw, 1, 1, pad_top, pad_left,
             bias, 3);
    }
    pool2_mask(image, pooled + (uint32_t)n * pooled_image, mask + (uint32_t)n * pooled_image, out_height, out_width,
               co);
  }
}

/*
 * The gradient through conv2d_relu_max_pool's pool and ReLU: dx [n, height, width, c] is dy at
 * each window's winner where its mask byte says the maximum was > 0, zero elsewhere (rows and
 * columns outside every window included), and bias_grad[c] (float64, accumulated: one per chunk
 * of images) the sum of those values, the gradient of the convolution's bias.
 */
void EXPORT(max_unpool_relu)(const float *dy, const uint8_t *mask, float *dx, double *bias_grad, int n_batch,
                             int height, int width, int c) {
  const int ph = height / 2, pw = width / 2;
  const v128_t three = wasm_i32x4_splat(3), four = wasm_i32x4_splat(4);
  for (int k = 0; k < c; k++) bias_grad[k] = 0.0;
  for (int n = 0; n < n_batch; n++) {
    float *img = dx + (uint32_t)(n * height * width) * c;
    const float *g = dy + (uint32_t)(n * ph * pw) * c;
    const uint8_t *m = mask + (uint32_t)(n * ph * pw) * c;
    if (width > 2 * pw) {
      for (int r = 0; r < 2 * ph; r++) __builtin_memset(img + (uint32_t)(r * width + 2 * pw) * c, 0, (uint32_t)c * sizeof(float));
    }
    if (height > 2 * ph) __builtin_memset(img + (uint32_t)(2 * ph * width) * c, 0, (uint32_t)width * c * sizeof(float));
    for (int py = 0; py < ph; py++) {
      float *r0 = img + (uint32_t)(2 * py * width) * c, *r1 = r0 + width * c;
      for (int px = 0; px < pw; px++) {
        float *a = r0 + 2 * px * c, *b = r1 + 2 * px * c;
        const int at = (py * pw + px) * c;
        for (int k = 0; k < c; k += 4) {
          const v128_t code = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(m + at + k)));
          const v128_t pos = wasm_v128_and(code, three);
          const v128_t gv = wasm_v128_and(wasm_v128_load(g + at + k), wasm_i32x4_eq(wasm_v128_and(code, four), four));
          wasm_v128_store(a + k, wasm_v128_and(gv, wasm_i32x4_eq(pos, wasm_i32x4_splat(0))));
          wasm_v128_store(a + c + k, wasm_v128_and(gv, wasm_i32x4_eq(pos, wasm_i32x4_splat(1))));
          wasm_v128_store(b + k, wasm_v128_and(gv, wasm_i32x4_eq(pos, wasm_i32x4_splat(2))));
          wasm_v128_store(b + c + k, wasm_v128_and(gv, wasm_i32x4_eq(pos, three)));
          double *acc = bias_grad + k;
          wasm_v128_store(acc, wasm_f64x2_add(wasm_v128_load(acc), wasm_f64x2_promote_low_f32x4(gv)));
          wasm_v128_store(acc + 2, wasm_f64x2_add(wasm_v128_load(acc + 2),
                                                  wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(gv, gv, 2, 3, 0, 1))));
        }
      }
    }
  }
}
