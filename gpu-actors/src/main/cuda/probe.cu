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

__device__ __forceinline__ float hashed_uniform(unsigned long long seed, unsigned long long i) {
    unsigned long long z = seed + i * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float) (z >> 40) * 0x1.0p-24f * 2.f - 1.f;
}

// Synthetic weights made on the device, in the layout of their type (see matvec.cu): W is
// [rows x cols] (cols % 32 == 0), values uniform in [-scale, scale) from a hash of (seed, index),
// Q8_0 quantized as the host's Quantizer does (d = max|v| / 127 rounded up to a half,
// q = round(v / d)). For throughput runs of shapes too large to generate on the host in time.
// One thread per 32 values.
extern "C" __global__ void fill_weights(int type, unsigned char* W, long long rows, int cols, unsigned long long seed,
                                        float scale) {
    long long per = cols >> 5;
    long long n = rows * per;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (long long g = (long long) blockIdx.x * blockDim.x + threadIdx.x; g < n; g += stride) {
        long long r = g / per, kb = g - r * per;
        unsigned long long base = (unsigned long long) (r * cols + kb * 32);
        float v[32];
        float amax = 0.f;
#pragma unroll
        for (int j = 0; j < 32; j++) {
            v[j] = hashed_uniform(seed, base + j) * scale;
            amax = fmaxf(amax, fabsf(v[j]));
        }
        if (type == T_F32) {
            float* o = reinterpret_cast<float*>(W) + base;
#pragma unroll
            for (int j = 0; j < 32; j++) o[j] = v[j];
        } else if (type == T_F16 || type == T_BF16) {
            unsigned short* o = reinterpret_cast<unsigned short*>(W) + base;
#pragma unroll
            for (int j = 0; j < 32; j++) {
                o[j] = type == T_F16 ? __half_as_ushort(__float2half_rn(v[j]))
                                     : (unsigned short) (__float_as_uint(v[j]) >> 16);
            }
        } else {
            unsigned char* blk = W + r * (per * 34) + kb * 34;
            __half dh = __float2half_ru(amax / 127.f);
            float d = __half2float(dh);
            float id = d != 0.f ? 1.f / d : 0.f;
            unsigned short hb = __half_as_ushort(dh);
            blk[0] = (unsigned char) (hb & 0xff);
            blk[1] = (unsigned char) (hb >> 8);
#pragma unroll
            for (int j = 0; j < 32; j++) {
                int q = __float2int_rn(v[j] * id);
                blk[2 + j] = (unsigned char) (signed char) max(-127, min(127, q));
            }
        }
    }
}
