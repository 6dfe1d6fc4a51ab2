// Shared helpers of the MagicPIG kernels. Compiled into every module (see build-ptx.sh).
#pragma once
#include <cuda_fp16.h>
#include <stdint.h>

#define WARP 32

// Weight storage types, as the host's GgmlType maps them (CudaKernels.typeCode).
#define T_F32 0
#define T_F16 1
#define T_BF16 2
#define T_Q8_0 3

// One sequence row of a batch: where its KV cache lives and which positions it attends.
// The cache of a session is [layers][cap][kvDim] f32 for keys (k) and for values (v), keys after RoPE.
// Attention of the row covers r0len positions [0, r0len) and then positions [r1start, pos]:
// dense attention has r0len = 0, r1start = 0; MagicPIG's static window has r0len = sink and
// r1start = promptLength - local (the generated tokens follow on from there).
struct SeqInfo {
    unsigned long long k;
    unsigned long long v;
    int pos;     // the position this row's token is written at (its key is the last one attended)
    int cap;     // positions the cache holds
    int r0len;
    int r1start;
};

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block; every thread gets the result. scratch holds at least 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < warps ? scratch[lane] : 0.f;
    return warp_sum(t);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(t);
}

__device__ __forceinline__ float half_bits_to_float(unsigned short h) {
    return __half2float(__ushort_as_half(h));
}

__device__ __forceinline__ float bf16_bits_to_float(unsigned short b) {
    return __uint_as_float(((unsigned int) b) << 16);
}

// The low and high 16-bit halves of a 32-bit word, as IEEE halves / bfloat16s.
__device__ __forceinline__ float lo_half(unsigned int w) { return half_bits_to_float((unsigned short) (w & 0xffffu)); }
__device__ __forceinline__ float hi_half(unsigned int w) { return half_bits_to_float((unsigned short) (w >> 16)); }
__device__ __forceinline__ float lo_bf16(unsigned int w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float hi_bf16(unsigned int w) { return __uint_as_float(w & 0xffff0000u); }

// Signed bytes k of a 32-bit word.
__device__ __forceinline__ float sbyte(unsigned int w, int k) {
    return (float) (signed char) ((w >> (8 * k)) & 0xffu);
}

__device__ __forceinline__ float silu_gate(float z, float u) {
    return z / (1.0f + expf(-z)) * u;
}
