package magicpig.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import magicpig.attention.DenseAttention;
import magicpig.attention.eval.Workload;
import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import magicpig.model.Model;

/**
 * Attention inputs captured from a real model at its full context: the model writes a text of its
 * own (as in part (b)), the whole text is run through it, and at the last token every (layer, kv
 * head) yields one workload: the cached keys and values of all positions, and the queries of the
 * query heads that share that kv head.
 */
final class ModelWorkloads {
    private ModelWorkloads() {}

    static List<Workload> capture(Model model, long seed) {
        LlamaConfig c = model.config();
        int n = c.contextLength(), d = c.headDim(), group = c.groupSize();
        int[] text = EndToEndEval.sampleText(model, n, seed);
        List<Workload> out = new ArrayList<>();
        Capture capture = new Capture(c);
        try (ComputeBackend.InferenceSession s = model.llama().newSession(n, capture)) {
            s.prefill(java.util.Arrays.copyOf(text, n - 1));
            s.decode(text[n - 1]); // the capture sees the last token's queries and the full cache
            KvCache cache = capture.cache;
            for (int l = 0; l < c.layers(); l++) {
                for (int kv = 0; kv < c.kvHeads(); kv++) {
                    float[] keys = new float[n * d], values = new float[n * d], queries = new float[group * d];
                    for (int p = 0; p < n; p++) {
                        MemorySegment.copy(cache.keys(l), ValueLayout.JAVA_FLOAT, cache.offset(p, kv), keys, p * d, d);
                        MemorySegment.copy(cache.values(l), ValueLayout.JAVA_FLOAT, cache.offset(p, kv), values, p * d, d);
                    }
                    System.arraycopy(capture.queries[l], kv * group * d, queries, 0, group * d);
                    out.add(new Workload.Arrays(model.name().replaceFirst("\\.bin$", "") + "-L" + l + "-kv" + kv, n, d, keys, values, queries));
                }
            }
        }
        return out;
    }

    /** Dense attention that keeps each layer's queries of the last decode step and the cache it read. */
    private static final class Capture implements Attention {
        final float[][] queries;
        final DenseAttention dense;
        KvCache cache;

        Capture(LlamaConfig c) {
            this.queries = new float[c.layers()][c.qDim()];
            this.dense = new DenseAttention(c);
        }

        @Override
        public void decode(int layer, float[] q, int qOff, KvCache cache, int pos, float[] out, int outOff) {
            this.cache = cache;
            System.arraycopy(q, qOff, queries[layer], 0, queries[layer].length);
            dense.decode(layer, q, qOff, cache, pos, out, outOff);
        }
    }
}
