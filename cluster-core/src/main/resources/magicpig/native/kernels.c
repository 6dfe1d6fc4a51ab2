/*
 * MagicPIG's native decode kernels: the matrix-vector products of one decode step, for the weight
 * types whose Java kernels stop short of the memory's speed. NativeKernels compiles this file once
 * per machine with the system's C compiler (-O3 -march=native, AMX off) and calls it through the
 * Foreign Function API; where it cannot, the Vector API kernels serve, with the same results up to
 * the order of float additions (and, for Q8_0, up to the rounding of x below).
 *
 * Why C: a matvec from memory needs its loads in flight while it computes. C2 gives the Java
 * kernels no software prefetch and more instructions per cache line (bounds checks, a half-to-float
 * conversion in integer operations), so each core keeps fewer lines in flight and the compute time
 * adds to the memory time. Here each kernel prefetches a fixed distance ahead of every stream it
 * reads and converts halves with one instruction (vcvtph2ps).
 *
 * Every product computes y[yOff + r] = row r . x for rows [r0, r1) and reads nothing past them but
 * prefetches, which never fault. The caller passes heap arrays (critical downcalls), so x and y come
 * with their offsets in floats. Q8_0's product takes x as 16-bit integers per block (mp_x16, made
 * once per product): its integer arithmetic is what lets it keep up with the memory.
 */
#include <stdint.h>

/* DQ for mp_x16's vfpclassps; every AVX-512 server CPU since Skylake has all four. */
#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__F16C__)
#include <immintrin.h>

/* The ABI NativeKernels expects; 0 means "compiled, but this CPU lacks AVX-512: do not use". */
int32_t mp_abi(void) { return 2; }

static inline void prefetch(const void *p) { _mm_prefetch((const char *) p, _MM_HINT_T0); }

/* The mask of the last cols % 16 columns (0 when cols is a multiple of 16). */
static inline __mmask16 tail_mask(int32_t cols) { return (__mmask16) ((1u << (cols & 15)) - 1); }

static inline __m512 f16_load(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) p)); }
static inline __m512 f16_load_tail(const uint16_t *p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
static inline __m512 bf16_load(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) p)), 16));
}
static inline __m512 bf16_load_tail(const uint16_t *p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

/*
 * F16 and BF16 rows: four rows in lockstep share each x load, and two such quads run side by side,
 * one from each half of the range (as Q8_0's groups do): eight streams, each prefetched pf bytes
 * ahead. One template for both types, so that each gets its own inlined load; BOTH is a constant at
 * each call of the quad function, so each variant compiles on its own.
 */
#define HALF_QUAD_ROW(P, A, C, XV, LOAD) A = _mm512_fmadd_ps(LOAD((P) + (C)), XV, A);
#define HALF_ROWS(NAME, LOAD, LOAD_TAIL) \
    static inline void NAME##_quads(const uint8_t *w, int64_t row_bytes, int32_t cols, const float *x, float *y, \
                                    int32_t ra, int32_t rb, int64_t ahead, const int BOTH) { \
        const int32_t full = cols & ~15; \
        const __mmask16 tm = tail_mask(cols); \
        const uint16_t *p0 = (const uint16_t *) (w + ra * row_bytes); \
        const uint16_t *p1 = (const uint16_t *) ((const uint8_t *) p0 + row_bytes); \
        const uint16_t *p2 = (const uint16_t *) ((const uint8_t *) p1 + row_bytes); \
        const uint16_t *p3 = (const uint16_t *) ((const uint8_t *) p2 + row_bytes); \
        const uint16_t *q0 = (const uint16_t *) (w + rb * row_bytes); \
        const uint16_t *q1 = (const uint16_t *) ((const uint8_t *) q0 + row_bytes); \
        const uint16_t *q2 = (const uint16_t *) ((const uint8_t *) q1 + row_bytes); \
        const uint16_t *q3 = (const uint16_t *) ((const uint8_t *) q2 + row_bytes); \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0; \
        for (int32_t c = 0; c < full; c += 32) { \
            prefetch(p0 + c + ahead); \
            prefetch(p1 + c + ahead); \
            prefetch(p2 + c + ahead); \
            prefetch(p3 + c + ahead); \
            if (BOTH) { \
                prefetch(q0 + c + ahead); \
                prefetch(q1 + c + ahead); \
                prefetch(q2 + c + ahead); \
                prefetch(q3 + c + ahead); \
            } \
            for (int32_t h = c; h < c + 32 && h < full; h += 16) { \
                __m512 xv = _mm512_loadu_ps(x + h); \
                HALF_QUAD_ROW(p0, a0, h, xv, LOAD) HALF_QUAD_ROW(p1, a1, h, xv, LOAD) \
                HALF_QUAD_ROW(p2, a2, h, xv, LOAD) HALF_QUAD_ROW(p3, a3, h, xv, LOAD) \
                if (BOTH) { \
                    HALF_QUAD_ROW(q0, b0, h, xv, LOAD) HALF_QUAD_ROW(q1, b1, h, xv, LOAD) \
                    HALF_QUAD_ROW(q2, b2, h, xv, LOAD) HALF_QUAD_ROW(q3, b3, h, xv, LOAD) \
                } \
            } \
        } \
        if (tm) { \
            __m512 xv = _mm512_maskz_loadu_ps(tm, x + full); \
            a0 = _mm512_fmadd_ps(LOAD_TAIL(p0 + full, tm), xv, a0); \
            a1 = _mm512_fmadd_ps(LOAD_TAIL(p1 + full, tm), xv, a1); \
            a2 = _mm512_fmadd_ps(LOAD_TAIL(p2 + full, tm), xv, a2); \
            a3 = _mm512_fmadd_ps(LOAD_TAIL(p3 + full, tm), xv, a3); \
            if (BOTH) { \
                b0 = _mm512_fmadd_ps(LOAD_TAIL(q0 + full, tm), xv, b0); \
                b1 = _mm512_fmadd_ps(LOAD_TAIL(q1 + full, tm), xv, b1); \
                b2 = _mm512_fmadd_ps(LOAD_TAIL(q2 + full, tm), xv, b2); \
                b3 = _mm512_fmadd_ps(LOAD_TAIL(q3 + full, tm), xv, b3); \
            } \
        } \
        y[ra] = _mm512_reduce_add_ps(a0); \
        y[ra + 1] = _mm512_reduce_add_ps(a1); \
        y[ra + 2] = _mm512_reduce_add_ps(a2); \
        y[ra + 3] = _mm512_reduce_add_ps(a3); \
        if (BOTH) { \
            y[rb] = _mm512_reduce_add_ps(b0); \
            y[rb + 1] = _mm512_reduce_add_ps(b1); \
            y[rb + 2] = _mm512_reduce_add_ps(b2); \
            y[rb + 3] = _mm512_reduce_add_ps(b3); \
        } \
    } \
    void NAME(const uint8_t *w, int64_t row_bytes, int32_t cols, const float *x, int32_t x_off, \
              float *y, int32_t y_off, int32_t r0, int32_t r1, int32_t pf) { \
        x += x_off; \
        y += y_off; \
        const int64_t ahead = pf / 2; /* in halves */ \
        const int32_t quads = (r1 - r0) / 4, half = quads / 2; \
        for (int32_t q = 0; q < half; q++) NAME##_quads(w, row_bytes, cols, x, y, r0 + 4 * q, r0 + 4 * (q + half), ahead, 1); \
        if (quads & 1) NAME##_quads(w, row_bytes, cols, x, y, r0 + 4 * (quads - 1), r0, ahead, 0); \
        const int32_t full = cols & ~15; \
        const __mmask16 tm = tail_mask(cols); \
        for (int32_t r = r0 + 4 * quads; r < r1; r++) { \
            const uint16_t *p = (const uint16_t *) (w + r * row_bytes); \
            __m512 a = _mm512_setzero_ps(); \
            for (int32_t c = 0; c < full; c += 16) a = _mm512_fmadd_ps(LOAD(p + c), _mm512_loadu_ps(x + c), a); \
            if (tm) a = _mm512_fmadd_ps(LOAD_TAIL(p + full, tm), _mm512_maskz_loadu_ps(tm, x + full), a); \
            y[r] = _mm512_reduce_add_ps(a); \
        } \
    }

HALF_ROWS(mp_f16_rows, f16_load, f16_load_tail)
HALF_ROWS(mp_bf16_rows, bf16_load, bf16_load_tail)

/*
 * x as 16-bit integers per block of 32 columns, for the Q8_0 kernel: xs[b] = max |x| / 32767 over
 * the block and xq = round(x / xs[b]), so each value is off by at most half a step, 1/65534 of the
 * block's largest. A block whose largest value is below 1e-30 becomes zeros; one with a NaN or an
 * infinity gets xs = NaN, so that every product with it is NaN, as it would be in floats.
 */
void mp_x16(const float *x, int32_t x_off, int32_t cols, int16_t *xq, float *xs) {
    x += x_off;
    const int32_t blocks = cols / 32;
    for (int32_t b = 0; b < blocks; b++) {
        __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
        int16_t *q = xq + 32 * b;
        /* fpclass 0x99: QNaN, SNaN, +inf, -inf */
        if (_mm512_fpclass_ps_mask(v0, 0x99) | _mm512_fpclass_ps_mask(v1, 0x99)) {
            _mm512_storeu_si512(q, _mm512_setzero_si512());
            xs[b] = __builtin_nanf("");
            continue;
        }
        float m = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        if (m < 1e-30f) {
            _mm512_storeu_si512(q, _mm512_setzero_si512());
            xs[b] = 0.0f;
            continue;
        }
        __m512 inv = _mm512_set1_ps(32767.0f / m);
        /* round to nearest (the default MXCSR mode); saturating, though |x * inv| <= 32767 up to rounding */
        _mm256_storeu_si256((__m256i *) q, _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v0, inv))));
        _mm256_storeu_si256((__m256i *) (q + 16), _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v1, inv))));
        xs[b] = m / 32767.0f;
    }
}

/*
 * Q8_0 in its CPU layout (Q8_0Matrix): rows in groups of four, and per block of 32 columns a
 * 144-byte record of the four rows' f32 scales, then their four runs of 32 quants. Per row and
 * block the 32 products q * xq (x from mp_x16) are summed exactly in integers (vpmaddwd: |q| <= 128,
 * |xq| <= 32767, so each of the 16 lanes holds two products, below 2^24 and so exact in a float too),
 * then scaled by d * xs[b] and accumulated in floats: a third of the float kernel's vector
 * instructions per block, which is what let it fall behind the memory (measured standalone, 1
 * thread from L2: 17.5 -> 24.5 GB/s; 2 threads from memory: 14.9-17.5 -> 17.5-19.6 GB/s).
 *
 * The scale products are made one block ahead into the other half of a small buffer: the fmas then
 * read them as embedded broadcasts from memory, where the same product made in the block itself
 * became register shuffles on the port the widening loads need (14.4 -> ~12 cycles a block).
 *
 * Two groups run side by side, one from each half of the range: two streams, each prefetched pf
 * bytes ahead, keep more lines in flight per core than one (+2-4 % from memory, standalone).
 * BOTH is a constant at each call, so each variant compiles on its own.
 */
static inline void q8_0_groups2(const uint8_t *pa, const uint8_t *pb, int32_t blocks, const int16_t *xq, const float *xs,
                                float *ya, float *yb, int32_t pf, const int BOTH) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    float s[16] __attribute__((aligned(16)));
    if (blocks > 0) {
        _mm_store_ps(s, _mm_mul_ps(_mm_loadu_ps((const float *) pa), _mm_set1_ps(xs[0])));
        if (BOTH) _mm_store_ps(s + 8, _mm_mul_ps(_mm_loadu_ps((const float *) pb), _mm_set1_ps(xs[0])));
    }
    for (int32_t b = 0; b < blocks; b++, pa += 144, pb += 144) {
        prefetch(pa + pf);
        prefetch(pa + pf + 64);
        prefetch(pa + pf + 128);
        if (BOTH) {
            prefetch(pb + pf);
            prefetch(pb + pf + 64);
            prefetch(pb + pf + 128);
        }
        const float *sa = s + 4 * (b & 1), *sb = s + 8 + 4 * (b & 1);
        if (b + 1 < blocks) {
            __m128 next = _mm_set1_ps(xs[b + 1]);
            _mm_store_ps(s + 4 * ((b + 1) & 1), _mm_mul_ps(_mm_loadu_ps((const float *) (pa + 144)), next));
            if (BOTH) _mm_store_ps(s + 8 + 4 * ((b + 1) & 1), _mm_mul_ps(_mm_loadu_ps((const float *) (pb + 144)), next));
        }
        __m512i xv = _mm512_loadu_si512(xq + 32 * b);
#define Q8_0_ROW(p, sc, k, a)                                                                               \
        a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_madd_epi16(                                            \
                _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *) ((p) + 16 + 32 * (k)))), xv)),    \
                _mm512_set1_ps((sc)[k]), a);
        Q8_0_ROW(pa, sa, 0, a0)
        Q8_0_ROW(pa, sa, 1, a1)
        Q8_0_ROW(pa, sa, 2, a2)
        Q8_0_ROW(pa, sa, 3, a3)
        if (BOTH) {
            Q8_0_ROW(pb, sb, 0, b0)
            Q8_0_ROW(pb, sb, 1, b1)
            Q8_0_ROW(pb, sb, 2, b2)
            Q8_0_ROW(pb, sb, 3, b3)
        }
#undef Q8_0_ROW
    }
    ya[0] = _mm512_reduce_add_ps(a0);
    ya[1] = _mm512_reduce_add_ps(a1);
    ya[2] = _mm512_reduce_add_ps(a2);
    ya[3] = _mm512_reduce_add_ps(a3);
    if (BOTH) {
        yb[0] = _mm512_reduce_add_ps(b0);
        yb[1] = _mm512_reduce_add_ps(b1);
        yb[2] = _mm512_reduce_add_ps(b2);
        yb[3] = _mm512_reduce_add_ps(b3);
    }
}

/* Groups [g0, g1) of the layout write rows [4 g0, 4 g1) of y. */
void mp_q8_0_groups(const uint8_t *layout, int32_t cols, const int16_t *xq, const float *xs, float *y, int32_t y_off,
                    int32_t g0, int32_t g1, int32_t pf) {
    y += y_off;
    const int32_t blocks = cols / 32;
    const int64_t group_bytes = (int64_t) blocks * 144;
    const int32_t half = (g1 - g0) / 2;
    for (int32_t g = g0; g < g0 + half; g++) {
        q8_0_groups2(layout + g * group_bytes, layout + (g + half) * group_bytes, blocks, xq, xs, y + 4 * g, y + 4 * (g + half), pf, 1);
    }
    if ((g1 - g0) & 1) q8_0_groups2(layout + (g1 - 1) * group_bytes, layout, blocks, xq, xs, y + 4 * (g1 - 1), y, pf, 0);
}

#else
int32_t mp_abi(void) { return 0; }
void mp_f16_rows(void) {}
void mp_bf16_rows(void) {}
void mp_x16(void) {}
void mp_q8_0_groups(void) {}
#endif
