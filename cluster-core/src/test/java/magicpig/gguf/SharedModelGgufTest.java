package magicpig.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import magicpig.tensor.GgmlType;
import magicpig.tensor.WeightMatrix;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The llama.cpp-made GGUF of the shared test models ({@code ../shared/models}, or the folder the
 * {@code magicpig.shared} property names): it opens, has the expected shapes, and holds the same
 * weights as the llama2.c checkpoint it was converted from. Skipped where the folder is absent.
 */
class SharedModelGgufTest {
    static Path sharedModel(String name) {
        Path shared = Path.of(System.getProperty("magicpig.shared", "../shared"));
        Path model = shared.resolve("models").resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(model), "shared test model " + model + " is absent (a fresh clone has no ../shared); skipping");
        return model;
    }

    @Test
    void aidreamsOpensWithTheExpectedShapes() throws IOException {
        try (GgufFile f = GgufFile.open(sharedModel("aidreams260K.gguf"))) {
            GgufMetadata m = f.metadata();
            assertEquals("llama", m.getString("general.architecture"));
            assertEquals(64, m.getInt("llama.embedding_length"));
            assertEquals(4, m.getInt("llama.block_count"));
            assertEquals(172, m.getInt("llama.feed_forward_length"));
            assertEquals(4, m.getInt("llama.attention.head_count"));
            assertEquals(512, m.getStringArray("tokenizer.ggml.tokens").length);
            assertEquals(512, m.getFloatArray("tokenizer.ggml.scores").length);
            assertEquals(1e-5f, m.getFloat("llama.attention.layer_norm_rms_epsilon"));

            assertShape(f.matrix("token_embd.weight"), 512, 64);
            assertShape(f.matrix("output.weight"), 512, 64);
            assertEquals(64, f.vector("output_norm.weight").length);
            for (int l = 0; l < 4; l++) {
                String b = "blk." + l + ".";
                for (String w : new String[] {"attn_q", "attn_k", "attn_v", "attn_output"}) assertShape(f.matrix(b + w + ".weight"), 64, 64);
                assertShape(f.matrix(b + "ffn_gate.weight"), 172, 64);
                assertShape(f.matrix(b + "ffn_up.weight"), 172, 64);
                assertShape(f.matrix(b + "ffn_down.weight"), 64, 172);
                assertEquals(64, f.vector(b + "attn_norm.weight").length);
                assertEquals(64, f.vector(b + "ffn_norm.weight").length);
            }
            assertEquals(39, f.tensorNames().size());
        }
    }

    private static void assertShape(WeightMatrix m, int rows, int cols) {
        assertEquals(GgmlType.F32, m.type());
        assertEquals(rows, m.rows(), m + " rows");
        assertEquals(cols, m.cols(), m + " cols");
    }

    /** Token embedding rows equal the llama2.c file's: dims[0] is the row length, rows are tokens. */
    @Test
    void embeddingRowsMatchTheLlama2cCheckpoint() throws IOException {
        Path bin = sharedModel("aidreams260K.bin");
        try (GgufFile f = GgufFile.open(sharedModel("aidreams260K.gguf"));
                FileChannel ch = FileChannel.open(bin, StandardOpenOption.READ);
                Arena arena = Arena.ofConfined()) {
            MemorySegment c = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            ValueLayout.OfFloat le = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
            int dim = c.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            assertEquals(64, dim);
            WeightMatrix emb = f.matrix("token_embd.weight");
            float[] row = new float[dim], expected = new float[dim];
            for (int token : new int[] {0, 1, 7, 300, 511}) {
                emb.dequantizeRow(token, row, 0);
                // the llama2.c file: 7 int32 of config, then the [vocab x dim] embedding table
                MemorySegment.copy(c, le, 28 + 4L * token * dim, expected, 0, dim);
                assertArrayEquals(expected, row, "embedding of token " + token);
            }
        }
    }
}
