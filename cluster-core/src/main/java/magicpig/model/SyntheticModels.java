package magicpig.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;
import magicpig.tensor.GgmlType;
import magicpig.tensor.Parallel;
import magicpig.tensor.Q8_0Matrix;
import magicpig.tensor.Quantizer;
import magicpig.tensor.WeightMatrix;
import magicpig.tokenizer.SyntheticTokenizer;

/**
 * Deterministic random-weight models of real Llama shapes, for benchmarks and memory tests at sizes
 * that cannot be downloaded here. The same (name, dtype, seed) always gives the same weights: each
 * row's values come from a generator seeded by (seed, tensor, row), so generation is parallel and
 * order-independent. Weights are uniform in +-sqrt(3 / cols), which keeps activations near unit scale.
 */
public final class SyntheticModels {
    private SyntheticModels() {}

    /** The shapes we know by name. */
    public static LlamaConfig shape(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> new LlamaConfig(256, 768, 4, 8, 4, 32, 512, 8192, 1e-5f,
                    new LlamaConfig.Rope(10000f, false, null));
            case "llama-3.2-1b" -> new LlamaConfig(2048, 8192, 16, 32, 8, 64, 128256, 131072, 1e-5f,
                    new LlamaConfig.Rope(500000f, true, new LlamaConfig.Llama3Scaling(32f, 1f, 4f, 8192)));
            case "llama-3.1-8b" -> new LlamaConfig(4096, 14336, 32, 32, 8, 128, 128256, 131072, 1e-5f,
                    new LlamaConfig.Rope(500000f, true, new LlamaConfig.Llama3Scaling(8f, 1f, 4f, 8192)));
            default -> throw new IllegalArgumentException("unknown synthetic model '" + name
                    + "' (expected synthetic:tiny, synthetic:llama-3.2-1b or synthetic:llama-3.1-8b)");
        };
    }

    /** Llama 3.2 1B ties its classifier to the embedding; the others do not. */
    static boolean tied(String name) {
        return name.equalsIgnoreCase("llama-3.2-1b");
    }

    public static Model create(String name, GgmlType dtype, long seed) {
        LlamaConfig c = shape(name);
        boolean tied = tied(name);
        Arena arena = Arena.ofShared();
        try {
            Builder b = new Builder(arena, dtype, seed);
            int L = c.layers();
            WeightMatrix embedding = b.matrix(c.vocabSize(), c.dim());
            float[][] attnNorm = new float[L][], ffnNorm = new float[L][];
            WeightMatrix[] wq = new WeightMatrix[L], wk = new WeightMatrix[L], wv = new WeightMatrix[L], wo = new WeightMatrix[L];
            WeightMatrix[] gate = new WeightMatrix[L], down = new WeightMatrix[L], up = new WeightMatrix[L];
            for (int l = 0; l < L; l++) {
                attnNorm[l] = ones(c.dim());
                ffnNorm[l] = ones(c.dim());
                wq[l] = b.matrix(c.qDim(), c.dim());
                wk[l] = b.matrix(c.kvDim(), c.dim());
                wv[l] = b.matrix(c.kvDim(), c.dim());
                wo[l] = b.matrix(c.dim(), c.qDim());
                gate[l] = b.matrix(c.hiddenDim(), c.dim());
                down[l] = b.matrix(c.dim(), c.hiddenDim());
                up[l] = b.matrix(c.hiddenDim(), c.dim());
            }
            WeightMatrix output = tied ? embedding : b.matrix(c.vocabSize(), c.dim());
            LlamaWeights w = new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, gate, down, up, ones(c.dim()), output);
            return new Model("synthetic:" + name.toLowerCase(Locale.ROOT), "synthetic", new Llama(c, w),
                    new SyntheticTokenizer(c.vocabSize()), true, new int[0], null, arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    /** Allocates and fills matrices one after another; tensor k's rows are seeded by (seed, k, row). */
    private static final class Builder {
        private final Arena arena;
        private final GgmlType dtype;
        private final long seed;
        private int tensor;

        Builder(Arena arena, GgmlType dtype, long seed) {
            this.arena = arena;
            this.dtype = dtype;
            this.seed = seed;
        }

        WeightMatrix matrix(int rows, int cols) {
            long rowBytes = dtype.rowBytes(cols);
            // 2 MiB pages where the kernel grants them: decode streams every weight once a token,
            // and huge pages cut its TLB misses (measured +4% on an F16 matvec from memory).
            // Q8_0 with a CPU layout is built in GGUF form in a scratch arena, then kept only in that layout.
            boolean cpuLayoutOnly = dtype == GgmlType.Q8_0 && Q8_0Matrix.hasCpuLayout(rows);
            Arena target = cpuLayoutOnly ? Arena.ofShared() : arena;
            MemorySegment seg = magicpig.tensor.HugePages.allocate(target, rowBytes * rows);
            long tensorSeed = mix(seed * 0x9E3779B97F4A7C15L + (++tensor));
            float scale = (float) Math.sqrt(3.0 / cols);
            Parallel.forRange(rows, 64, (start, end) -> {
                float[] row = new float[cols];
                for (int r = start; r < end; r++) {
                    long s = mix(tensorSeed ^ (r * 0xD1B54A32D192ED03L));
                    for (int i = 0; i < cols; i++) {
                        s += 0x9E3779B97F4A7C15L;
                        long z = mix(s);
                        row[i] = ((z >>> 40) * 0x1.0p-24f * 2f - 1f) * scale; // uniform in [-scale, scale)
                    }
                    Quantizer.quantizeRow(dtype, row, 0, cols, seg, r * rowBytes);
                }
            });
            WeightMatrix m = WeightMatrix.of(dtype, seg, rows, cols);
            if (!cpuLayoutOnly) return m;
            try (target) {
                return Q8_0Matrix.withCpuLayoutOnly((Q8_0Matrix) m, arena);
            }
        }
    }

    /** SplitMix64's finaliser: a well-mixed 64-bit hash. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

}
