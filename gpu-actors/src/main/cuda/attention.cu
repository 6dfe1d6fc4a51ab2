// Rotary embedding with the KV-cache write, exact attention over a session's device-resident
// cache returning partial states (m, l, o), the merge of partial states, and MagicPIG's query
// hashing. Each row b of a batch is one token of one sequence, described by seqs[b] (see SeqInfo):
// batched decode (a row per sequence) and prefill (a row per prompt token of one sequence, with
// increasing pos) run the same kernels.
#include "common.cuh"

// RoPE on the q and k parts of qkv rows ([q: heads*d | k: kvHeads*d | v: kvHeads*d] per row),
// q rotated in place, k (rotated) and v written into the row's cache at its position.
// freqs: d/2 frequencies in double, Llama 3 scaling and frequency factors already applied by the
// host. The angle is rounded to float before cos/sin, as the host's RotaryEmbedding does.
// halfSplit: pairs (i, i + d/2) (Hugging Face) instead of (2i, 2i + 1) (llama2.c, GGUF).
// Grid: one block per row.
extern "C" __global__ void rope_store(const SeqInfo* seqs, int layer, float* qkv, int qkvStride, int heads, int kvHeads,
                                      int d, int halfSplit, const double* freqs) {
    int b = blockIdx.x;
    SeqInfo s = seqs[b];
    float* row = qkv + (long long) b * qkvStride;
    int half = d >> 1;
    int kvDim = kvHeads * d;
    long long at = ((long long) layer * s.cap + s.pos) * kvDim;
    float* kc = reinterpret_cast<float*>(s.k) + at;
    float* vc = reinterpret_cast<float*>(s.v) + at;
    int pairs = (heads + kvHeads) * half;
    for (int p = threadIdx.x; p < pairs; p += blockDim.x) {
        int h = p / half, i = p - h * half;
        float ang = (float) ((double) s.pos * freqs[i]);
        float c = (float) cos((double) ang), sn = (float) sin((double) ang);
        int ia = halfSplit ? i : 2 * i;
        int ib = halfSplit ? i + half : 2 * i + 1;
        float* x = row + h * d; // k heads follow the q heads in the row
        float x0 = x[ia], x1 = x[ib];
        float y0 = x0 * c - x1 * sn;
        float y1 = x0 * sn + x1 * c;
        if (h < heads) {
            x[ia] = y0;
            x[ib] = y1;
        } else {
            int kh = h - heads;
            kc[kh * d + ia] = y0;
            kc[kh * d + ib] = y1;
        }
    }
    const float* v = row + (heads + kvHeads) * d;
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) vc[i] = v[i];
}

// Exact attention of query head h of row b over one split of its attended positions.
// The row attends count = r0len + (pos + 1 - r1start) positions; split y takes the ones numbered
// [y * chunk, min(count, (y + 1) * chunk)). Scores s = q.k / sqrt(d).
// When out is not null (a single split), writes the attention output o = sum softmax(s) v into
// out[b * outStride + h * d ..]. Otherwise writes the partial state of the split to
// partial[((b * heads + h) * splits + y) * (d + 2) ..] as (m, l, o[d]): m = max s,
// l = sum exp(s - m), o = sum exp(s - m) v / l; an empty split has m = -inf, l = 0, o = 0.
// Grid: (rows * heads, splits); block: a multiple of 32 threads; dynamic shared memory:
// (d + chunk + max(blockDim, d)) floats.
extern "C" __global__ void attn_partial(const SeqInfo* seqs, int layer, const float* q, int qStride, int heads,
                                        int kvHeads, int d, int chunk, float* partial, int splits, float* out,
                                        int outStride) {
    extern __shared__ float smem[];
    __shared__ float scratch[32];
    float* sq = smem;
    float* sp = smem + d;
    float* red = sp + chunk;

    int b = blockIdx.x / heads, h = blockIdx.x - b * heads, y = blockIdx.y;
    SeqInfo s = seqs[b];
    int kvh = h / (heads / kvHeads);
    int kvDim = kvHeads * d;
    int count = s.r0len + (s.pos + 1 - s.r1start);
    int t0 = y * chunk, t1 = min(count, t0 + chunk), nt = t1 - t0;
    const float* qh = q + (long long) b * qStride + h * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) sq[i] = qh[i];
    __syncthreads();

    const float* K = reinterpret_cast<const float*>(s.k) + (long long) layer * s.cap * kvDim + kvh * d;
    const float* V = reinterpret_cast<const float*>(s.v) + (long long) layer * s.cap * kvDim + kvh * d;
    float scale = 1.0f / sqrtf((float) d);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;

    // Scores: a warp per key, lanes across the head dimension (coalesced).
    for (int t = warp; t < nt; t += warps) {
        int idx = t0 + t;
        int p = idx < s.r0len ? idx : s.r1start + (idx - s.r0len);
        const float* k = K + (long long) p * kvDim;
        float acc = 0.f;
        for (int i = lane; i < d; i += WARP) acc = fmaf(sq[i], k[i], acc);
        acc = warp_sum(acc);
        if (lane == 0) sp[t] = acc * scale;
    }
    __syncthreads();
    float m = -INFINITY;
    for (int t = threadIdx.x; t < nt; t += blockDim.x) m = fmaxf(m, sp[t]);
    m = block_max(m, scratch);
    float l = 0.f;
    if (nt > 0) {
        for (int t = threadIdx.x; t < nt; t += blockDim.x) {
            float e = expf(sp[t] - m);
            sp[t] = e;
            l += e;
        }
    }
    l = block_sum(l, scratch); // synchronizes, so sp holds the weights from here

    // o = sum_t w_t v_t: G groups of d threads, group g takes keys g, g + G, ...
    int G = max(1, (int) blockDim.x / d);
    for (int e = threadIdx.x; e < G * d; e += blockDim.x) {
        int g = e / d, i = e - g * d;
        float acc = 0.f;
        for (int t = g; t < nt; t += G) {
            int idx = t0 + t;
            int p = idx < s.r0len ? idx : s.r1start + (idx - s.r0len);
            acc = fmaf(sp[t], V[(long long) p * kvDim + i], acc);
        }
        red[e] = acc;
    }
    __syncthreads();
    float inv = l > 0.f ? 1.0f / l : 0.f;
    if (out != nullptr) {
        float* o = out + (long long) b * outStride + h * d;
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            float acc = 0.f;
            for (int g = 0; g < G; g++) acc += red[g * d + i];
            o[i] = acc * inv;
        }
    } else {
        float* ps = partial + ((long long) (b * heads + h) * splits + y) * (d + 2);
        if (threadIdx.x == 0) {
            ps[0] = nt > 0 ? m : -INFINITY;
            ps[1] = l;
        }
        for (int i = threadIdx.x; i < d; i += blockDim.x) {
            float acc = 0.f;
            for (int g = 0; g < G; g++) acc += red[g * d + i];
            ps[2 + i] = acc * inv;
        }
    }
}

// Merges partial states exactly: m* = max m_j, l* = sum l_j e^(m_j - m*),
// o* = sum l_j e^(m_j - m*) o_j / l*. The parts of (row b, head h) are the splits of
// attn_partial, then ext parts from elsewhere (the host's sampled attention over the offloaded
// tokens, MagicPIG's CPU side) laid out the same way: ext[((b * heads + h) * extCount + j) * (d + 2)].
// Writes o* to out[b * outStride + h * d ..] (zeros when no part holds a key).
// Grid: rows * heads; block: any.
extern "C" __global__ void attn_merge(const float* partial, int splits, const float* ext, int extCount, int heads,
                                      int d, float* out, int outStride) {
    int bh = blockIdx.x, b = bh / heads, h = bh - b * heads;
    const float* P = partial + (long long) bh * splits * (d + 2);
    const float* E = ext == nullptr ? nullptr : ext + (long long) bh * extCount * (d + 2);
    int parts = splits + (E == nullptr ? 0 : extCount);
    float M = -INFINITY;
    for (int j = 0; j < parts; j++) {
        const float* pj = j < splits ? P + j * (d + 2) : E + (j - splits) * (d + 2);
        if (pj[1] > 0.f) M = fmaxf(M, pj[0]);
    }
    float* o = out + (long long) b * outStride + h * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float L = 0.f, acc = 0.f;
        for (int j = 0; j < parts; j++) {
            const float* pj = j < splits ? P + j * (d + 2) : E + (j - splits) * (d + 2);
            if (pj[1] > 0.f) {
                float w = pj[1] * expf(pj[0] - M);
                L += w;
                acc = fmaf(w, pj[2 + i], acc);
            }
        }
        o[i] = L > 0.f ? acc / L : 0.f;
    }
}

// MagicPIG query hashing (SimHash): for query head h of row b, with the projection of its kv head
// proj[kvh] = W, a d x (K*L) row-major f32 matrix, table t's code has bit j set when
// q . W[:, t*K + j] > 0, packed least-significant bit first (K <= 16).
// codes[(b * heads + h) * L + t]. Grid: (rows * heads, ceil(L / blockDim)); shared memory: d floats.
extern "C" __global__ void lsh_hash(const float* q, int qStride, int heads, int kvHeads, int d, const float* proj, int K,
                                    int L, unsigned short* codes) {
    extern __shared__ float sq[];
    int bh = blockIdx.x, b = bh / heads, h = bh - b * heads;
    int kvh = h / (heads / kvHeads);
    for (int i = threadIdx.x; i < d; i += blockDim.x) sq[i] = q[(long long) b * qStride + h * d + i];
    __syncthreads();
    int t = blockIdx.y * blockDim.x + threadIdx.x;
    if (t >= L) return;
    int KL = K * L;
    const float* W = proj + (long long) kvh * d * KL;
    unsigned int code = 0;
    for (int j = 0; j < K; j++) {
        int c = t * K + j;
        float acc = 0.f;
        for (int i = 0; i < d; i++) acc = fmaf(sq[i], W[(long long) i * KL + c], acc);
        if (acc > 0.f) code |= 1u << j;
    }
    codes[(long long) bh * L + t] = (unsigned short) code;
}

// Index of the largest of n values of row b (the first on ties; NaNs never win).
// Grid: one block per row, blockDim a power of two <= 1024.
extern "C" __global__ void argmax(const float* x, int n, int stride, int* out) {
    __shared__ float sv[1024];
    __shared__ int si[1024];
    const float* xb = x + (long long) blockIdx.x * stride;
    float best = -INFINITY;
    int bi = n; // no index yet
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = xb[i];
        if (v > best || (bi == n && v == best)) {
            best = v;
            bi = i;
        }
    }
    sv[threadIdx.x] = best;
    si[threadIdx.x] = bi;
    __syncthreads();
    for (int o = blockDim.x >> 1; o > 0; o >>= 1) {
        if (threadIdx.x < o) {
            float v = sv[threadIdx.x + o];
            int i = si[threadIdx.x + o];
            if (v > sv[threadIdx.x] || (v == sv[threadIdx.x] && i < si[threadIdx.x])) {
                sv[threadIdx.x] = v;
                si[threadIdx.x] = i;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = si[0] < n ? si[0] : 0;
}
