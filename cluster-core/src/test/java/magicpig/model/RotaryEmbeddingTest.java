package magicpig.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class RotaryEmbeddingTest {

    @Test
    void llama3ScalingKeepsHighDividesLowAndBlendsBetween() {
        var s = new LlamaConfig.Llama3Scaling(8f, 1f, 4f, 8192);
        double high = 1.0; // wavelength 2*pi, far below 8192/4
        assertEquals(high, RotaryEmbedding.llama3Scaled(high, s), 0);
        double low = 2 * Math.PI / 20000; // wavelength 20000 > 8192
        assertEquals(low / 8, RotaryEmbedding.llama3Scaled(low, s), 1e-15);
        double mid = 2 * Math.PI / 4096; // between 2048 and 8192: smooth = (8192/4096 - 1) / 3 = 1/3
        assertEquals((1 - 1.0 / 3) * mid / 8 + mid / 3, RotaryEmbedding.llama3Scaled(mid, s), 1e-12);
    }

    /** Half-split RoPE on permuted dimensions equals adjacent-pair RoPE: the two layouts differ only in order. */
    @Test
    void layoutsAgreeUpToThePermutation() {
        int d = 16;
        RotaryEmbedding adjacent = new RotaryEmbedding(new LlamaConfig.Rope(10000f, false, null), d);
        RotaryEmbedding half = new RotaryEmbedding(new LlamaConfig.Rope(10000f, true, null), d);
        float[] x = new float[d];
        for (int i = 0; i < d; i++) x[i] = (float) Math.sin(i * 1.7 + 0.3);
        float[] y = new float[d]; // y[i] = x[2i], y[i + d/2] = x[2i + 1]
        for (int i = 0; i < d / 2; i++) {
            y[i] = x[2 * i];
            y[i + d / 2] = x[2 * i + 1];
        }
        float[] cos = new float[d / 2], sin = new float[d / 2];
        adjacent.angles(37, cos, sin);
        adjacent.rotate(x, 0, 1, cos, sin);
        half.rotate(y, 0, 1, cos, sin);
        for (int i = 0; i < d / 2; i++) {
            assertEquals(x[2 * i], y[i], 1e-6);
            assertEquals(x[2 * i + 1], y[i + d / 2], 1e-6);
        }
    }
}
