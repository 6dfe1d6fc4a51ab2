package magicpig.model.llama2c;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import magicpig.model.LlamaConfig;
import magicpig.model.LlamaWeights;
import magicpig.model.ModelFormatException;
import magicpig.tensor.F32Matrix;
import magicpig.tensor.WeightMatrix;

/**
 * A llama2.c {@code .bin} checkpoint: a header of 7 int32 (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means an unshared classifier), then f32
 * tensors in a fixed order. The file is memory-mapped and the matrices point into it.
 */
public record Llama2cCheckpoint(LlamaConfig config, LlamaWeights weights, Arena arena) implements AutoCloseable {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int HEADER_BYTES = 7 * 4;

    public static Llama2cCheckpoint load(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw new ModelFormatException(file, "truncated: " + size + " bytes, shorter than the 28-byte llama2.c header");
            }
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            int dim = seg.get(INT, 0), hidden = seg.get(INT, 4), layers = seg.get(INT, 8), heads = seg.get(INT, 12);
            int kvHeads = seg.get(INT, 16), vocab = seg.get(INT, 20), seqLen = seg.get(INT, 24);
            boolean shared = vocab > 0;
            vocab = Math.abs(vocab);
            if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab <= 0 || seqLen <= 0
                    || dim % heads != 0 || heads % kvHeads != 0 || dim > 1 << 16 || hidden > 1 << 18 || layers > 1024 || vocab > 1 << 22) {
                throw new ModelFormatException(file, "not a llama2.c checkpoint: implausible header dim=" + dim + " hidden=" + hidden
                        + " layers=" + layers + " heads=" + heads + " kv_heads=" + kvHeads + " vocab=" + vocab + " seq_len=" + seqLen);
            }
            int headDim = dim / heads;
            int kvDim = kvHeads * headDim;
            LlamaConfig config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, headDim, vocab, seqLen, 1e-5f,
                    new LlamaConfig.Rope(10000f, false, null));
            long L = layers;
            long floats = (long) vocab * dim + L * dim + L * dim * dim + 2 * L * kvDim * dim + L * dim * dim + L * dim
                    + 3 * L * hidden * dim + dim + (long) seqLen * headDim + (shared ? 0 : (long) vocab * dim);
            long expected = HEADER_BYTES + floats * 4;
            if (size < expected) {
                throw new ModelFormatException(file, "truncated: " + size + " bytes, but its header (dim " + dim + ", " + layers
                        + " layers, vocab " + vocab + ") needs " + expected);
            }
            Reader r = new Reader(seg, HEADER_BYTES);
            WeightMatrix embedding = r.matrix(vocab, dim);
            float[][] attnNorm = r.vectors(layers, dim);
            WeightMatrix[] wq = r.matrices(layers, dim, dim);
            WeightMatrix[] wk = r.matrices(layers, kvDim, dim);
            WeightMatrix[] wv = r.matrices(layers, kvDim, dim);
            WeightMatrix[] wo = r.matrices(layers, dim, dim);
            float[][] ffnNorm = r.vectors(layers, dim);
            WeightMatrix[] w1 = r.matrices(layers, hidden, dim);
            WeightMatrix[] w2 = r.matrices(layers, dim, hidden);
            WeightMatrix[] w3 = r.matrices(layers, hidden, dim);
            float[] finalNorm = r.vectors(1, dim)[0];
            r.skip((long) seqLen * headDim * 4); // freq_cis_real and freq_cis_imag: RoPE is computed, not read
            WeightMatrix output = shared ? embedding : r.matrix(vocab, dim);
            LlamaWeights weights = new LlamaWeights(embedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, output);
            return new Llama2cCheckpoint(config, weights, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Walks the f32 tensors in file order. */
    private static final class Reader {
        private final MemorySegment seg;
        private long offset;

        Reader(MemorySegment seg, long offset) {
            this.seg = seg;
            this.offset = offset;
        }

        WeightMatrix matrix(int rows, int cols) {
            long bytes = (long) rows * cols * 4;
            WeightMatrix m = new F32Matrix(seg.asSlice(offset, bytes), rows, cols);
            offset += bytes;
            return m;
        }

        WeightMatrix[] matrices(int n, int rows, int cols) {
            WeightMatrix[] out = new WeightMatrix[n];
            for (int i = 0; i < n; i++) out[i] = matrix(rows, cols);
            return out;
        }

        float[][] vectors(int n, int len) {
            float[][] out = new float[n][len];
            for (int i = 0; i < n; i++) {
                MemorySegment.copy(seg, FLOAT, offset, out[i], 0, len);
                offset += (long) len * 4;
            }
            return out;
        }

        void skip(long bytes) {
            offset += bytes;
        }
    }
}
