// The few cuda_fp16.h functions the kernels use, for the CPU emulator (g++ with _Float16).
#pragma once
#include <cstring>

typedef _Float16 __half;

static inline __half __ushort_as_half(unsigned short u) {
    __half h;
    std::memcpy(&h, &u, 2);
    return h;
}

static inline unsigned short __half_as_ushort(__half h) {
    unsigned short u;
    std::memcpy(&u, &h, 2);
    return u;
}

static inline float __half2float(__half h) { return (float) h; }

static inline __half __float2half_rn(float f) { return (__half) f; }

// Rounded towards +infinity: the nearest half, or the next one up when that is below f.
static inline __half __float2half_ru(float f) {
    __half h = (__half) f;
    if ((float) h < f) {
        unsigned short u = __half_as_ushort(h);
        if (u & 0x8000u) u = (unsigned short) (u == 0x8000u ? 0x0001u : u - 1);
        else u = (unsigned short) (u + 1);
        h = __ushort_as_half(u);
    }
    return h;
}
