// Matrix-vector and (small-batch) matrix-matrix products over weights in their file layout.
//
// W is row-major [rows x cols], each row stored as the GGML blocks of its type, rows back to
// back, exactly the bytes of the host's WeightMatrix (so weights upload as they are):
//   F32  4 bytes a value;  F16 / BF16 2 bytes a value, little-endian;
//   Q8_0 blocks of 32 values: an f16 scale d, then 32 int8 q; value = d * q (34 bytes a block).
//
// One warp computes one row against up to NB input rows (the batch): it streams the row with
// 16-byte loads, coalesced across the warp, accumulates in f32 and reduces with shuffles. A block
// of 8 warps computes 8 consecutive rows. Decode is bound by reading W once, so this is the
// whole game: NB inputs reuse every weight loaded.
//
// The input of row b can be transformed on the fly (MODE), which fuses the step before the
// product into it:
//   IN_PLAIN  x[b]
//   IN_NORM   RMSNorm: (x[b] * s_b) * g, s_b = 1 / sqrt(mean(x[b]^2) + eps), computed per block
//   IN_SILU   SwiGLU: silu(x[b][i]) * x[b][cols + i] (x[b] holds gate then up, 2 * cols values)
// and the output either set (y = Wx) or accumulated (y += Wx: the residual connection).
//
// Host requirements (checked by CudaBackend): F32 cols % 4 == 0, F16/BF16 cols % 8 == 0,
// Q8_0 cols % 256 == 0 (so every row starts 16-byte aligned), x rows 16-byte aligned.
#include "common.cuh"

#define IN_PLAIN 0
#define IN_NORM 1
#define IN_SILU 2

#define MV_WARPS 8

// Four consecutive input values of row b at column i (i % 4 == 0).
template <int MODE>
__device__ __forceinline__ float4 input4(const float* __restrict__ xb, const float* __restrict__ g, float scale,
                                         int i, int cols) {
    float4 a = __ldg(reinterpret_cast<const float4*>(xb + i));
    if (MODE == IN_NORM) {
        float4 w = __ldg(reinterpret_cast<const float4*>(g + i));
        a.x = (a.x * scale) * w.x;
        a.y = (a.y * scale) * w.y;
        a.z = (a.z * scale) * w.z;
        a.w = (a.w * scale) * w.w;
    } else if (MODE == IN_SILU) {
        float4 u = __ldg(reinterpret_cast<const float4*>(xb + cols + i));
        a.x = silu_gate(a.x, u.x);
        a.y = silu_gate(a.y, u.y);
        a.z = silu_gate(a.z, u.z);
        a.w = silu_gate(a.w, u.w);
    }
    return a;
}

__device__ __forceinline__ float dot4(float4 w, float4 v, float acc) {
    acc = fmaf(w.x, v.x, acc);
    acc = fmaf(w.y, v.y, acc);
    acc = fmaf(w.z, v.z, acc);
    return fmaf(w.w, v.w, acc);
}

template <int TYPE, int MODE, bool ACC, int NB>
__device__ __forceinline__ void matvec(const unsigned char* __restrict__ W, long long rowBytes, int rows, int cols,
                                       const float* __restrict__ x, int xstride, const float* __restrict__ g, float eps,
                                       int n, float* __restrict__ y, int ystride) {
    __shared__ float s_scale[NB];
    __shared__ uint4 s_stage[TYPE == T_Q8_0 ? MV_WARPS * 68 : 1];

    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (MODE == IN_NORM) {
        // Every block computes the norms of its inputs itself (the same sums in the same order, so
        // the result is deterministic): cheaper than a separate kernel launch. One pass over the
        // inputs accumulates all NB sums of squares; then warp sums, and one cross-warp sum.
        float ss[NB];
#pragma unroll
        for (int b = 0; b < NB; b++) {
            ss[b] = 0.f;
            if (b < n) {
                const float* xb = x + (long long) b * xstride;
                for (int i = threadIdx.x; i < cols; i += blockDim.x) ss[b] = fmaf(xb[i], xb[i], ss[b]);
            }
        }
        __shared__ float s_part[NB][MV_WARPS];
#pragma unroll
        for (int b = 0; b < NB; b++) {
            float v = warp_sum(ss[b]);
            if (lane == 0) s_part[b][warp] = v;
        }
        __syncthreads();
        if (threadIdx.x < NB && threadIdx.x < n) {
            float t = 0.f;
            for (int w = 0; w < MV_WARPS; w++) t += s_part[threadIdx.x][w];
            s_scale[threadIdx.x] = 1.0f / sqrtf(t / (float) cols + eps);
        }
        __syncthreads();
    }
    int r = blockIdx.x * MV_WARPS + warp;
    if (r >= rows) return;

    float acc[NB];
    float scale[NB];
#pragma unroll
    for (int b = 0; b < NB; b++) {
        acc[b] = 0.f;
        scale[b] = MODE == IN_NORM && b < n ? s_scale[b] : 1.f;
    }
    const unsigned char* row = W + (long long) r * rowBytes;

    if (TYPE == T_F32) {
        const float4* wr = reinterpret_cast<const float4*>(row);
        int chunks = cols >> 2;
#pragma unroll 4
        for (int c = lane; c < chunks; c += WARP) {
            float4 w = __ldg(wr + c);
#pragma unroll
            for (int b = 0; b < NB; b++) {
                if (b < n) acc[b] = dot4(w, input4<MODE>(x + (long long) b * xstride, g, scale[b], c * 4, cols), acc[b]);
            }
        }
    } else if (TYPE == T_F16 || TYPE == T_BF16) {
        const uint4* wr = reinterpret_cast<const uint4*>(row);
        int chunks = cols >> 3;
#pragma unroll 4
        for (int c = lane; c < chunks; c += WARP) {
            uint4 q = __ldg(wr + c);
            float4 w0, w1;
            if (TYPE == T_F16) {
                w0 = make_float4(lo_half(q.x), hi_half(q.x), lo_half(q.y), hi_half(q.y));
                w1 = make_float4(lo_half(q.z), hi_half(q.z), lo_half(q.w), hi_half(q.w));
            } else {
                w0 = make_float4(lo_bf16(q.x), hi_bf16(q.x), lo_bf16(q.y), hi_bf16(q.y));
                w1 = make_float4(lo_bf16(q.z), hi_bf16(q.z), lo_bf16(q.w), hi_bf16(q.w));
            }
#pragma unroll
            for (int b = 0; b < NB; b++) {
                if (b < n) {
                    const float* xb = x + (long long) b * xstride;
                    acc[b] = dot4(w0, input4<MODE>(xb, g, scale[b], c * 8, cols), acc[b]);
                    acc[b] = dot4(w1, input4<MODE>(xb, g, scale[b], c * 8 + 4, cols), acc[b]);
                }
            }
        }
    } else { // T_Q8_0
        // The warp copies 32 blocks (1088 bytes = 68 x 16) of its row into shared memory with
        // coalesced 16-byte loads, then each lane takes one block from there: a 34-byte block
        // is not 16-byte aligned, so lanes reading their blocks from global memory would each
        // touch many cache lines.
        uint4* stage = s_stage + warp * 68;
        const unsigned char* sbytes = reinterpret_cast<const unsigned char*>(stage);
        int nblocks = cols >> 5;
        for (int kb0 = 0; kb0 < nblocks; kb0 += 32) {
            int nb = min(32, nblocks - kb0);
            int n16 = (nb * 34) >> 4; // nb is a multiple of 8, so this is exact
            const uint4* src = reinterpret_cast<const uint4*>(row + (long long) kb0 * 34);
            for (int i = lane; i < n16; i += WARP) stage[i] = __ldg(src + i);
            __syncwarp();
            if (lane < nb) {
                const unsigned short* blk = reinterpret_cast<const unsigned short*>(sbytes + lane * 34);
                float d = half_bits_to_float(blk[0]);
                int col = (kb0 + lane) * 32;
                float s[NB];
#pragma unroll
                for (int b = 0; b < NB; b++) s[b] = 0.f;
#pragma unroll
                for (int j = 0; j < 16; j += 2) { // quants 2j .. 2j+3
                    unsigned int q = (unsigned int) blk[1 + j] | ((unsigned int) blk[2 + j] << 16);
                    float4 w = make_float4(sbyte(q, 0), sbyte(q, 1), sbyte(q, 2), sbyte(q, 3));
#pragma unroll
                    for (int b = 0; b < NB; b++) {
                        if (b < n) s[b] = dot4(w, input4<MODE>(x + (long long) b * xstride, g, scale[b], col + 2 * j, cols), s[b]);
                    }
                }
#pragma unroll
                for (int b = 0; b < NB; b++) acc[b] = fmaf(d, s[b], acc[b]);
            }
            __syncwarp();
        }
    }
#pragma unroll
    for (int b = 0; b < NB; b++) {
        if (b < n) {
            float v = warp_sum(acc[b]);
            if (lane == 0) {
                float* out = y + (long long) b * ystride + r;
                *out = ACC ? *out + v : v;
            }
        }
    }
}

#define MV_KERNEL(tname, TYPE, mname, MODE, aname, ACC, NB)                                                  \
    extern "C" __global__ void __launch_bounds__(MV_WARPS * WARP)                                            \
    mv_##tname##_##mname##_##aname##_##NB(const unsigned char* W, long long rowBytes, int rows, int cols,    \
                                          const float* x, int xstride, const float* g, float eps, int n,     \
                                          float* y, int ystride) {                                           \
        matvec<TYPE, MODE, ACC, NB>(W, rowBytes, rows, cols, x, xstride, g, eps, n, y, ystride);             \
    }

#define MV_TYPE(tname, TYPE)                                      \
    MV_KERNEL(tname, TYPE, plain, IN_PLAIN, set, false, 1)        \
    MV_KERNEL(tname, TYPE, plain, IN_PLAIN, set, false, 8)        \
    MV_KERNEL(tname, TYPE, norm, IN_NORM, set, false, 1)          \
    MV_KERNEL(tname, TYPE, norm, IN_NORM, set, false, 8)          \
    MV_KERNEL(tname, TYPE, plain, IN_PLAIN, add, true, 1)         \
    MV_KERNEL(tname, TYPE, plain, IN_PLAIN, add, true, 8)         \
    MV_KERNEL(tname, TYPE, silu, IN_SILU, add, true, 1)           \
    MV_KERNEL(tname, TYPE, silu, IN_SILU, add, true, 8)

MV_TYPE(f32, T_F32)
MV_TYPE(f16, T_F16)
MV_TYPE(bf16, T_BF16)
MV_TYPE(q8_0, T_Q8_0)

// Embedding lookup: x[b] = row tokens[b] of W, dequantized to f32. Grid: one block per row.
extern "C" __global__ void embed(int type, const unsigned char* W, long long rowBytes, int cols, const int* tokens,
                                 float* x, int xstride) {
    int b = blockIdx.x;
    const unsigned char* row = W + (long long) tokens[b] * rowBytes;
    float* out = x + (long long) b * xstride;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
        float v;
        if (type == T_F32) {
            v = reinterpret_cast<const float*>(row)[i];
        } else if (type == T_F16) {
            v = half_bits_to_float(reinterpret_cast<const unsigned short*>(row)[i]);
        } else if (type == T_BF16) {
            v = bf16_bits_to_float(reinterpret_cast<const unsigned short*>(row)[i]);
        } else {
            const unsigned char* blk = row + (i >> 5) * 34;
            float d = half_bits_to_float((unsigned short) (blk[0] | (blk[1] << 8)));
            v = d * (float) (signed char) blk[2 + (i & 31)];
        }
        out[i] = v;
    }
}
