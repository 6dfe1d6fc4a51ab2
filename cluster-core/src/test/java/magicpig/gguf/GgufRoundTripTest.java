package magicpig.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import magicpig.tensor.GgmlType;
import magicpig.tensor.QuantizationTolerance;
import magicpig.tensor.Quantizer;
import magicpig.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Write a GGUF with every metadata value type and one tensor per supported type, read it back, compare. */
class GgufRoundTripTest {
    @TempDir
    Path dir;

    /** One value of every type, edge values included, and arrays of every element type (nested ones too). */
    static GgufWriter everyValueType(GgufWriter w) {
        return w.putUInt8("t.uint8", 255)
                .putInt8("t.int8", -128)
                .putUInt16("t.uint16", 65535)
                .putInt16("t.int16", -32768)
                .putUInt32("t.uint32", 4_000_000_000L)
                .putInt32("t.int32", Integer.MIN_VALUE)
                .putUInt64("t.uint64", -1L) // 2^64 - 1
                .putInt64("t.int64", Long.MIN_VALUE)
                .putFloat32("t.float32", 1e-5f)
                .putFloat64("t.float64", Math.PI)
                .putBool("t.bool.true", true)
                .putBool("t.bool.false", false)
                .putString("t.string", "Grüße, ☃ and \uD83D\uDC37")
                .putString("t.string.empty", "")
                .putArray("t.array.uint8", new GgufArray(GgufValueType.UINT8, new int[] {0, 1, 255}))
                .putArray("t.array.int8", new GgufArray(GgufValueType.INT8, new int[] {-128, 0, 127}))
                .putArray("t.array.uint16", new GgufArray(GgufValueType.UINT16, new int[] {0, 65535}))
                .putArray("t.array.int16", new GgufArray(GgufValueType.INT16, new int[] {-32768, 32767}))
                .putArray("t.array.uint32", new GgufArray(GgufValueType.UINT32, new long[] {0, 4_294_967_295L}))
                .putArray("t.array.int32", GgufArray.ofInt32(2, 3, 3, 6, -1))
                .putArray("t.array.uint64", new GgufArray(GgufValueType.UINT64, new long[] {0, -1L}))
                .putArray("t.array.int64", new GgufArray(GgufValueType.INT64, new long[] {Long.MIN_VALUE, Long.MAX_VALUE}))
                .putArray("t.array.float32", GgufArray.ofFloat32(0f, -1.5f, Float.MIN_VALUE, Float.MAX_VALUE))
                .putArray("t.array.float64", new GgufArray(GgufValueType.FLOAT64, new double[] {Math.E, -0.0}))
                .putArray("t.array.bool", new GgufArray(GgufValueType.BOOL, new boolean[] {true, false, true}))
                .putArray("t.array.string", GgufArray.ofStrings("<unk>", "", "▁the", "<0x0A>"))
                .putArray("t.array.empty", GgufArray.ofStrings())
                .putArray("t.array.nested", GgufArray.ofArrays(GgufArray.ofStrings("a", "b"), GgufArray.ofStrings(),
                        GgufArray.ofArrays(new GgufArray(GgufValueType.UINT8, new int[] {7}))));
    }

    @Test
    void metadataOfEveryTypeAndATensorOfEveryTypeComeBack() throws IOException {
        Random rnd = new Random(11);
        int rows = 3, cols = 512;
        Map<GgmlType, float[]> originals = new LinkedHashMap<>();
        GgufWriter w = everyValueType(new GgufWriter()).putString("general.architecture", "llama");
        for (GgmlType type : GgmlType.values()) {
            float[] values = new float[rows * cols];
            for (int i = 0; i < values.length; i++) values[i] = (float) (0.05 * rnd.nextGaussian());
            originals.put(type, values);
            w.addTensor("weight." + type, type, values, cols, rows);
        }
        float[] norm = {1f, -2f, 0.5f, 3.25f, 0f};
        w.addTensor("norm", GgmlType.F32, norm, norm.length);
        Path path = dir.resolve("all-types.gguf");
        w.write(path);

        GgufMetadata expected = everyValueType(new GgufWriter()).putString("general.architecture", "llama").metadata();
        try (GgufFile f = GgufFile.open(path)) {
            assertEquals(3, f.version());
            assertEquals(expected, f.metadata(), "metadata values");
            for (String key : expected.keySet()) assertEquals(expected.type(key), f.metadata().type(key), "type of " + key);
            assertEquals(GgufValueType.UINT8, f.metadata().elementType("t.array.uint8"));
            assertEquals(GgufValueType.ARRAY, f.metadata().elementType("t.array.nested"));

            for (Map.Entry<GgmlType, float[]> e : originals.entrySet()) {
                GgmlType type = e.getKey();
                String name = "weight." + type;
                GgufTensor t = f.tensor(name);
                assertEquals(type, t.type());
                assertArrayEquals(new long[] {cols, rows}, t.dims());
                assertEquals(0, (f.dataOffset() + f.tensorInfos().get(f.tensorNames().indexOf(name)).offset()) % 32, name + " is aligned");
                WeightMatrix m = f.matrix(name);
                assertEquals(rows, m.rows());
                assertEquals(cols, m.cols());
                float[] got = new float[cols];
                for (int r = 0; r < rows; r++) {
                    float[] original = java.util.Arrays.copyOfRange(e.getValue(), r * cols, (r + 1) * cols);
                    m.dequantizeRow(r, got, 0);
                    for (int i = 0; i < cols; i++) {
                        double tolerance = QuantizationTolerance.of(type, original, i);
                        if (Math.abs(got[i] - original[i]) > tolerance) {
                            fail(name + " row " + r + " value " + i + ": wrote " + original[i] + ", read " + got[i] + " (tolerance " + tolerance + ")");
                        }
                    }
                }
            }
            assertArrayEquals(norm, f.vector("norm"));
            assertArrayEquals(new long[] {5}, f.tensor("norm").dims());
        }
    }

    @Test
    void typedGettersConvertWhereTheValueFits() throws IOException {
        Path path = dir.resolve("getters.gguf");
        everyValueType(new GgufWriter()).write(path);
        try (GgufFile f = GgufFile.open(path)) {
            GgufMetadata m = f.metadata();
            assertEquals(255, m.getInt("t.uint8"));
            assertEquals(-128, m.getInt("t.int8"));
            assertEquals(65535, m.getInt("t.uint16"));
            assertEquals(4_000_000_000L, m.getLong("t.uint32"));
            assertEquals(-1L, m.getLong("t.uint64"));
            assertEquals(1e-5f, m.getFloat("t.float32"));
            assertEquals(Math.PI, m.getDouble("t.float64"));
            assertEquals(255f, m.getFloat("t.uint8"));
            assertEquals(true, m.getBoolean("t.bool.true"));
            assertEquals("Grüße, ☃ and \uD83D\uDC37", m.getString("t.string"));
            assertArrayEquals(new String[] {"<unk>", "", "▁the", "<0x0A>"}, m.getStringArray("t.array.string"));
            assertArrayEquals(new int[] {2, 3, 3, 6, -1}, m.getIntArray("t.array.int32"));
            assertArrayEquals(new int[] {0, 1, 255}, m.getIntArray("t.array.uint8"));
            assertArrayEquals(new float[] {0f, -1.5f, Float.MIN_VALUE, Float.MAX_VALUE}, m.getFloatArray("t.array.float32"));
            assertEquals(7, m.getInt("missing", 7));
            assertEquals(path + ": metadata key 't.uint32' is 4000000000, too large for an int",
                    assertThrows(GgufFormatException.class, () -> m.getInt("t.uint32")).getMessage());
            assertEquals(path + ": metadata key 't.string' is of type STRING, expected an integer",
                    assertThrows(GgufFormatException.class, () -> m.getInt("t.string")).getMessage());
            assertEquals(path + ": metadata key 't.array.string' is an array of STRING, expected a string",
                    assertThrows(GgufFormatException.class, () -> m.getString("t.array.string")).getMessage());
            assertEquals(path + ": metadata key 'llama.block_count' is missing",
                    assertThrows(GgufFormatException.class, () -> m.getInt("llama.block_count")).getMessage());
            assertEquals(path + ": has no tensor 'output.weight' (it has 0 tensors)",
                    assertThrows(GgufFormatException.class, () -> f.tensor("output.weight")).getMessage());
        }
    }

    @Test
    void copiesMetadataAndTensorsFromAnotherFileWithItsOwnAlignment() throws IOException {
        Path first = dir.resolve("first.gguf"), second = dir.resolve("second.gguf");
        try (Arena arena = Arena.ofShared()) {
            float[] w = new float[4 * 64];
            for (int i = 0; i < w.length; i++) w[i] = i / 100f;
            WeightMatrix q = Quantizer.matrix(GgmlType.Q8_0, w, 4, 64, arena);
            everyValueType(new GgufWriter()).putUInt32("general.alignment", 64).addTensor("a", GgmlType.F32, new float[] {1, 2, 3}, 3).addTensor("q", q).write(first);
            try (GgufFile f = GgufFile.open(first)) {
                assertEquals(64, f.alignment());
                for (GgufFile.TensorInfo t : f.tensorInfos()) assertEquals(0, (f.dataOffset() + t.offset()) % 64, t.name());
                GgufWriter copy = new GgufWriter().putAll(f.metadata());
                for (String name : f.tensorNames()) {
                    GgufTensor t = f.tensor(name);
                    copy.addTensor(name, t.type(), t.dims(), t.data());
                }
                copy.write(second);
                try (GgufFile g = GgufFile.open(second)) {
                    assertEquals(f.metadata(), g.metadata());
                    assertEquals(f.dataOffset(), g.dataOffset());
                    for (String name : f.tensorNames()) {
                        MemorySegment a = f.tensor(name).data(), b = g.tensor(name).data();
                        assertEquals(-1, a.mismatch(b), name + " bytes");
                    }
                    assertEquals(-1, q.data().mismatch(g.tensor("q").data()));
                }
            }
        }
    }

    @Test
    void writerRefusesValuesThatDoNotFitTheirType() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.putUInt8("x", 256));
        assertThrows(IllegalArgumentException.class, () -> w.putUInt32("x", -1));
        assertThrows(IllegalArgumentException.class, () -> w.put("x", GgufValueType.STRING, 5));
        assertThrows(IllegalArgumentException.class, () -> new GgufArray(GgufValueType.INT8, new int[] {200}));
        assertThrows(IllegalArgumentException.class, () -> new GgufArray(GgufValueType.FLOAT32, new double[] {1}));
        w.addTensor("t", GgmlType.F32, new float[] {1}, 1);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new float[] {1}, 1));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("q", GgmlType.Q8_0, new float[] {1, 2}, 2));
    }
}
