package magicpig.model.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path tmp;

    @Test
    void writesAndReadsAllThreeFloatTypes() throws Exception {
        Random rnd = new Random(7);
        float[] a = randoms(rnd, 3 * 5);
        float[] b = randoms(rnd, 4 * 6);
        float[] c = randoms(rnd, 7);
        Path file = tmp.resolve("t.safetensors");
        new SafetensorsWriter()
                .metadata("format", "pt")
                .add("a.f32", GgmlType.F32, new long[] {3, 5}, a)
                .add("b.f16", GgmlType.F16, new long[] {4, 6}, b)
                .add("c.bf16", GgmlType.BF16, new long[] {7}, c)
                .add("scalar", GgmlType.F32, new long[] {}, new float[] {42.5f})
                .write(file);

        long headerLength = MemorySegment.ofArray(Files.readAllBytes(file))
                .get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        assertEquals(0, headerLength % 8, "data section starts 8-byte aligned");

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
            assertEquals(List.of("a.f32", "b.f16", "c.bf16", "scalar"), List.copyOf(f.names()));

            SafetensorsTensor ta = f.tensor("a.f32");
            assertEquals(GgmlType.F32, ta.type());
            assertArrayEquals(new long[] {3, 5}, ta.shape());
            assertEquals(15 * 4, ta.data().byteSize());
            assertArrayEquals(a, FloatCodec.decode(GgmlType.F32, ta.data()), "f32 is exact");

            SafetensorsTensor tb = f.tensor("b.f16");
            assertEquals(GgmlType.F16, tb.type());
            assertArrayEquals(new long[] {4, 6}, tb.shape());
            for (int i = 0; i < b.length; i++) {
                short raw = tb.data().get(I16, 2L * i);
                assertEquals(Float.floatToFloat16(b[i]), raw, "f16 bits of value " + i);
                assertEquals(b[i], Float.float16ToFloat(raw), 1e-3f * Math.abs(b[i]) + 1e-7f);
            }

            SafetensorsTensor tc = f.tensor("c.bf16");
            assertEquals(GgmlType.BF16, tc.type());
            for (int i = 0; i < c.length; i++) {
                short raw = tc.data().get(I16, 2L * i);
                assertEquals(FloatCodec.floatToBf16(c[i]), raw, "bf16 bits of value " + i);
                float back = Float.intBitsToFloat((raw & 0xFFFF) << 16);
                assertEquals(c[i], back, 8e-3f * Math.abs(c[i]));
            }

            SafetensorsTensor s = f.tensor("scalar");
            assertEquals(0, s.rank());
            assertEquals(1, s.elements());
            assertEquals(42.5f, FloatCodec.decode(GgmlType.F32, s.data())[0]);
        }
    }

    @Test
    void otherDtypesAreListedButNotHandedOut() throws Exception {
        Path file = tmp.resolve("mixed.safetensors");
        new SafetensorsWriter()
                .add("ids", "I64", new long[] {2}, new byte[16])
                .add("q", "I8", new long[] {2, 2}, new byte[] {1, 2, 3, 4})
                .add("w", GgmlType.F32, new long[] {1}, new float[] {1f})
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals("I8", f.entry("q").dtype());
            assertArrayEquals(new long[] {2, 2}, f.entry("q").shape());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.tensor("q"));
            assertTrue(e.getMessage().contains("tensor 'q' has dtype I8"), e.getMessage());
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.tensor("ids"));
            assertTrue(e.getMessage().contains("'ids' has dtype I64"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> f.tensor("nope"));
            assertTrue(e.getMessage().contains("no tensor 'nope'"), e.getMessage());
        }
    }

    @Test
    void closingUnmapsTheTensors() throws Exception {
        Path file = tmp.resolve("c.safetensors");
        new SafetensorsWriter().add("w", GgmlType.F32, new long[] {2}, new float[] {1, 2}).write(file);
        SafetensorsFile f = SafetensorsFile.open(file);
        MemorySegment data = f.tensor("w").data();
        f.close();
        assertThrows(IllegalStateException.class, () -> data.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between bf16 1.0 and 1 + 2^-7: ties go to the even mantissa (1.0).
        assertEquals(1.0f, FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(1f + 0x1p-8f)));
        // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
        assertEquals(1f + 0x1p-6f, FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(1f + 3 * 0x1p-8f)));
        assertEquals(1f + 0x1p-7f, FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(1f + 0x1p-7f + 0x1p-10f)));
        assertTrue(Float.isNaN(FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(Float.NaN))));
        assertEquals(Float.NEGATIVE_INFINITY, FloatCodec.bf16ToFloat(FloatCodec.floatToBf16(Float.NEGATIVE_INFINITY)));
    }

    private static float[] randoms(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }
}
