package magicpig.model.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RopeLayoutsTest {
    private static final float THETA = 10000f;

    @Test
    void rowOrderWithinEachHead() {
        float[] rows = {0, 1, 2, 3, 10, 11, 12, 13};
        assertArrayEquals(new float[] {0, 2, 1, 3, 10, 12, 11, 13}, RopeLayouts.adjacentToHalfSplit(rows, 2, 4, 1));
        float[] six = {0, 1, 2, 3, 4, 5};
        assertArrayEquals(new float[] {0, 2, 4, 1, 3, 5}, RopeLayouts.adjacentToHalfSplit(six, 1, 6, 1));
        assertArrayEquals(six, RopeLayouts.halfSplitToAdjacent(RopeLayouts.adjacentToHalfSplit(six, 1, 6, 1), 1, 6, 1));
    }

    @Test
    void halfSplitRopeOfPermutedWeightsEqualsPermutedAdjacentRope() {
        Random rnd = new Random(11);
        int heads = 3;
        int headDim = 8;
        int cols = 5;
        float[] w = gaussian(rnd, heads * headDim * cols);
        float[] x = gaussian(rnd, cols);
        float[] wPermuted = RopeLayouts.adjacentToHalfSplit(w, heads, headDim, cols);
        assertArrayEquals(w, RopeLayouts.halfSplitToAdjacent(wPermuted, heads, headDim, cols), "inverse");

        for (int pos : new int[] {0, 1, 7, 100}) {
            float[] adjacent = ropeAdjacent(matvec(w, x, cols), heads, headDim, pos);
            float[] halfSplit = ropeHalfSplit(matvec(wPermuted, x, cols), heads, headDim, pos);
            assertArrayEquals(RopeLayouts.adjacentToHalfSplit(adjacent, heads, headDim, 1), halfSplit, 1e-5f, "position " + pos);
        }
        // and the two rotations really differ: the same vector under both is not the same
        float[] q = matvec(w, x, cols);
        assertFalse(Arrays.equals(ropeAdjacent(q, heads, headDim, 7), ropeHalfSplit(q, heads, headDim, 7)));
    }

    @Test
    void attentionScoresAreUnchangedWhenQAndKArePermuted() {
        Random rnd = new Random(12);
        int heads = 2;
        int headDim = 6;
        int cols = 4;
        float[] wq = gaussian(rnd, heads * headDim * cols);
        float[] wk = gaussian(rnd, heads * headDim * cols);
        float[] x = gaussian(rnd, cols);
        float[] y = gaussian(rnd, cols);
        float[] q = ropeAdjacent(matvec(wq, x, cols), heads, headDim, 9);
        float[] k = ropeAdjacent(matvec(wk, y, cols), heads, headDim, 4);
        float[] q2 = ropeHalfSplit(matvec(RopeLayouts.adjacentToHalfSplit(wq, heads, headDim, cols), x, cols), heads, headDim, 9);
        float[] k2 = ropeHalfSplit(matvec(RopeLayouts.adjacentToHalfSplit(wk, heads, headDim, cols), y, cols), heads, headDim, 4);
        for (int h = 0; h < heads; h++) {
            assertEquals(dot(q, k, h * headDim, headDim), dot(q2, k2, h * headDim, headDim), 1e-4f, "head " + h);
        }
    }

    /** llama2.c: rotate (2i, 2i+1) by pos * theta^(-2i/headDim). */
    private static float[] ropeAdjacent(float[] v, int heads, int headDim, int pos) {
        float[] out = v.clone();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < headDim / 2; i++) {
                rotate(out, h * headDim + 2 * i, h * headDim + 2 * i + 1, angle(i, headDim, pos));
            }
        }
        return out;
    }

    /** Hugging Face: rotate (i, i + headDim/2) by the same angle. */
    private static float[] ropeHalfSplit(float[] v, int heads, int headDim, int pos) {
        float[] out = v.clone();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < headDim / 2; i++) {
                rotate(out, h * headDim + i, h * headDim + i + headDim / 2, angle(i, headDim, pos));
            }
        }
        return out;
    }

    private static double angle(int i, int headDim, int pos) {
        return pos * Math.pow(THETA, -2.0 * i / headDim);
    }

    private static void rotate(float[] v, int a, int b, double angle) {
        float c = (float) Math.cos(angle);
        float s = (float) Math.sin(angle);
        float x = v[a];
        float y = v[b];
        v[a] = x * c - y * s;
        v[b] = x * s + y * c;
    }

    private static float[] matvec(float[] w, float[] x, int cols) {
        float[] y = new float[w.length / cols];
        for (int r = 0; r < y.length; r++) y[r] = dot(w, r * cols, x);
        return y;
    }

    private static float dot(float[] w, int off, float[] x) {
        float s = 0;
        for (int i = 0; i < x.length; i++) s += w[off + i] * x[i];
        return s;
    }

    private static float dot(float[] a, float[] b, int off, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) s += a[off + i] * b[off + i];
        return s;
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }
}
