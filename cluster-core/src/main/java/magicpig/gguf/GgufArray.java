package magicpig.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A GGUF metadata array: its element type and the elements as one Java array, chosen as for
 * scalars (see {@link GgufValueType}): int[] for UINT8, INT8, UINT16, INT16, INT32; long[] for
 * UINT32, UINT64, INT64; float[], double[], boolean[], String[]; and GgufArray[] for arrays of
 * arrays (each inner array with its own element type).
 */
public record GgufArray(GgufValueType elementType, Object values) {
    public GgufArray {
        Objects.requireNonNull(elementType, "elementType");
        Objects.requireNonNull(values, "values");
        Class<?> expected = javaType(elementType);
        if (values.getClass() != expected) {
            throw new IllegalArgumentException("an array of " + elementType + " holds a " + expected.getSimpleName() + ", got a " + values.getClass().getSimpleName());
        }
        if (values instanceof int[] ints) {
            for (int v : ints) checkRange(elementType, v);
        } else if (values instanceof long[] longs) {
            for (long v : longs) checkRange(elementType, v);
        } else if (values instanceof Object[] objects) {
            for (Object o : objects) Objects.requireNonNull(o, "array element");
        }
    }

    private static void checkRange(GgufValueType type, long v) {
        if (!type.holds(v)) throw new IllegalArgumentException(v + " is out of range for " + type);
    }

    /** The Java array class that holds elements of this type. */
    static Class<?> javaType(GgufValueType elementType) {
        return switch (elementType) {
            case UINT8, INT8, UINT16, INT16, INT32 -> int[].class;
            case UINT32, UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> GgufArray[].class;
        };
    }

    public static GgufArray ofStrings(String... values) {
        return new GgufArray(GgufValueType.STRING, values);
    }

    public static GgufArray ofFloat32(float... values) {
        return new GgufArray(GgufValueType.FLOAT32, values);
    }

    public static GgufArray ofInt32(int... values) {
        return new GgufArray(GgufValueType.INT32, values);
    }

    public static GgufArray ofArrays(GgufArray... values) {
        return new GgufArray(GgufValueType.ARRAY, values);
    }

    public int length() {
        return java.lang.reflect.Array.getLength(values);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && a.elementType == elementType && Arrays.deepEquals(new Object[] {values}, new Object[] {a.values});
    }

    @Override
    public int hashCode() {
        return 31 * elementType.hashCode() + Arrays.deepHashCode(new Object[] {values});
    }

    @Override
    public String toString() {
        int n = length();
        String shown = switch (values) {
            case Object[] objects -> Arrays.toString(n > 8 ? Arrays.copyOf(objects, 8) : objects);
            case int[] a -> Arrays.toString(n > 8 ? Arrays.copyOf(a, 8) : a);
            case long[] a -> Arrays.toString(n > 8 ? Arrays.copyOf(a, 8) : a);
            case float[] a -> Arrays.toString(n > 8 ? Arrays.copyOf(a, 8) : a);
            case double[] a -> Arrays.toString(n > 8 ? Arrays.copyOf(a, 8) : a);
            case boolean[] a -> Arrays.toString(n > 8 ? Arrays.copyOf(a, 8) : a);
            default -> "?";
        };
        return elementType + "[" + n + "]" + (n > 8 ? shown.replace("]", ", ...]") : shown);
    }
}
