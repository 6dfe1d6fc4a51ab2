package magicpig.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Quantize, dequantize with the reference, compare with the original within each type's tolerance. */
class QuantizerTest {

    /** Rows that stress a quantizer: gaussian of several spreads, all zero, constant, all positive, one outlier. */
    static float[] testRows(int rows, int cols, Random rnd) {
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i++) {
                double g = rnd.nextGaussian();
                w[r * cols + i] = (float) switch (r % 6) {
                    case 0 -> 0.02 * g;
                    case 1 -> 0;
                    case 2 -> -0.75;
                    case 3 -> 3 + Math.abs(g);
                    case 4 -> i == cols / 3 ? 40 : 0.01 * g;
                    default -> Math.scalb(g, -20);
                };
            }
        }
        return w;
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void roundTripStaysWithinTheTypesTolerance(GgmlType type) {
        int rows = 12, cols = 512;
        float[] w = testRows(rows, cols, new Random(3));
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix m = Quantizer.matrix(type, w, rows, cols, arena);
            float[] got = new float[cols];
            for (int r = 0; r < rows; r++) {
                float[] original = java.util.Arrays.copyOfRange(w, r * cols, (r + 1) * cols);
                m.dequantizeRow(r, got, 0);
                assertArrayEquals(GgmlReference.row(type, m.data(), r, cols), got, 1e-6f * (float) QuantizationTolerance.amax(original, 0, cols), type + " row " + r + " kernel vs reference");
                for (int i = 0; i < cols; i++) {
                    double err = Math.abs(got[i] - original[i]);
                    if (err > QuantizationTolerance.of(type, original, i)) {
                        fail(type + " row " + r + " value " + i + ": " + original[i] + " came back as " + got[i] + ", error " + err + " > " + QuantizationTolerance.of(type, original, i));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void rowSourceAndArrayGiveTheSameBytes(GgmlType type) {
        int rows = 7, cols = 256;
        float[] w = testRows(rows, cols, new Random(5));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = arena.allocate(type.bytes(rows, cols));
            MemorySegment b = arena.allocate(type.bytes(rows, cols));
            Quantizer.quantize(type, w, rows, cols, a);
            Quantizer.quantize(type, rows, cols, (r, dst) -> System.arraycopy(w, r * cols, dst, 0, cols), b);
            assertEquals(-1, a.mismatch(b), type + ": the two entry points disagree");
            MemorySegment single = arena.allocate(type.rowBytes(cols));
            Quantizer.quantizeRow(type, w, 3 * cols, cols, single, 0);
            assertEquals(-1, single.mismatch(a.asSlice(3 * type.rowBytes(cols), type.rowBytes(cols))), type + ": quantizeRow disagrees");
        }
    }

    @Test
    void rejectsRowsThatAreNotWholeBlocksAndShortTargets() {
        try (Arena arena = Arena.ofShared()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Quantizer.quantizeRow(GgmlType.Q4_K, new float[300], 0, 300, arena.allocate(1000), 0));
            assertEquals("Q4_K needs rows that are a multiple of 256 values, got 300", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(GgmlType.Q8_0, new float[64], 2, 32, arena.allocate(67)));
        }
    }

    @Test
    void halfFloatHelpers() {
        assertEquals(1.5f, HalfFloat.halfToFloat(HalfFloat.floatToHalf(1.5f)));
        assertEquals((short) 0x3C00, HalfFloat.floatToHalf(1f));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloat.halfToFloat(HalfFloat.floatToHalf(1e6f)));
        assertEquals(0x1p-24f, HalfFloat.halfToFloat((short) 1)); // smallest subnormal
        // bf16 rounds to nearest, ties to even
        assertEquals((short) 0x3F80, HalfFloat.floatToBf16(Float.intBitsToFloat(0x3F80_8000))); // tie, even below
        assertEquals((short) 0x3F82, HalfFloat.floatToBf16(Float.intBitsToFloat(0x3F81_8000))); // tie, even above
        assertEquals((short) 0x3F81, HalfFloat.floatToBf16(Float.intBitsToFloat(0x3F80_8001)));
        assertEquals(-2.5f, HalfFloat.bf16ToFloat(HalfFloat.floatToBf16(-2.5f)));
        assertEquals(true, Float.isNaN(HalfFloat.bf16ToFloat(HalfFloat.floatToBf16(Float.NaN))));
        for (float v : new float[] {0, 1e-7f, 0.3f, 65000f, 1234.5f}) {
            short h = HalfFloat.halfAtLeast(v);
            boolean smallest = v == 0 || HalfFloat.halfToFloat((short) (h - 1)) < v;
            if (HalfFloat.halfToFloat(h) < v || !smallest) fail("halfAtLeast(" + v + ") = " + HalfFloat.halfToFloat(h));
        }
    }
}
