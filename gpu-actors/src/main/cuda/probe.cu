// Device-memory bandwidth probe and test-data fill, for the device check and benchmarks.
#include "common.cuh"

// Reads n16 16-byte words with a grid-stride loop (each read exactly once) and writes nothing
// unless their sum hits an exact value: a read-only stream the compiler cannot drop. The device's
// read bandwidth is bytes / time of this kernel: the roofline decode is measured against.
extern "C" __global__ void read_probe(const float4* src, long long n16, float* sink) {
    float acc = 0.f;
    long long stride = (long long) gridDim.x * blockDim.x;
#pragma unroll 4
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n16; i += stride) {
        float4 v = __ldg(src + i);
        acc += (v.x + v.y) + (v.z + v.w);
    }
    if (acc == 1234.5678f) sink[0] = acc;
}

// dst[i] = uniform in [-scale, scale) from a hash of (seed, i): deterministic test data made on
// the device (no host generation or upload of gigabytes).
extern "C" __global__ void fill_uniform(float* dst, long long n, unsigned long long seed, float scale) {
    long long stride = (long long) gridDim.x * blockDim.x;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        unsigned long long z = seed + (unsigned long long) i * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        dst[i] = ((float) (z >> 40) * 0x1.0p-24f * 2.f - 1.f) * scale;
    }
}
