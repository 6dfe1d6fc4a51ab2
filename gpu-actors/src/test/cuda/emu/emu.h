// A CPU emulator for this project's CUDA kernels, to test them (and the Java code that launches
// them) on machines without a GPU. Each CUDA thread of a block is a fiber; the block's fibers run
// one at a time on the calling thread, switching at __syncthreads, __syncwarp and warp shuffles,
// which wait as barriers of the block or of the warp. Blocks run one after another, so __shared__
// variables can be function statics. Semantics only, no speed, no memory model: it finds wrong
// indexing, strides, reductions and launch arguments, not races or bank conflicts.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <algorithm>

#define __global__
#define __device__ static
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

struct uint3 { unsigned int x, y, z; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) uint4 { unsigned int x, y, z, w; };
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

extern uint3 threadIdx, blockIdx, blockDim, gridDim;
extern char* emu_dyn_smem;

template <typename T> static inline T __ldg(const T* p) {
    // A GPU faults on a misaligned vector load; the CPU would not: check it here.
    if (sizeof(T) == 16 && (reinterpret_cast<uintptr_t>(p) & 15) != 0) {
        std::fprintf(stderr, "emulator: misaligned 16-byte load at %p\n", (const void*) p);
        std::abort();
    }
    return *p;
}
static inline float __uint_as_float(unsigned int u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline unsigned int __float_as_uint(float f) { unsigned int u; std::memcpy(&u, &f, 4); return u; }
static inline int __float2int_rn(float f) { return (int) std::nearbyint(f); }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }

void __syncthreads();
void __syncwarp(unsigned int mask = 0xffffffffu);
float __shfl_xor_sync(unsigned int mask, float v, int laneMask);
