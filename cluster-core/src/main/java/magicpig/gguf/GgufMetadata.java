package magicpig.gguf;

import java.util.AbstractMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The key-value metadata of a GGUF file, in file order: a read-only {@code Map<String, Object>}
 * (values as {@link GgufValueType} describes) that also knows each value's GGUF type, with typed
 * getters whose errors name the file and the key.
 */
public final class GgufMetadata extends AbstractMap<String, Object> {
    private final String source;
    private final Map<String, Object> values = new LinkedHashMap<>();
    private final Map<String, GgufValueType> types = new LinkedHashMap<>();

    GgufMetadata(String source) {
        this.source = source;
    }

    /** Adds an entry (the reader and writer check types and duplicates before calling this). */
    void put(String key, GgufValueType type, Object value) {
        values.put(key, value);
        types.put(key, type);
    }

    @Override
    public Set<Entry<String, Object>> entrySet() {
        return Collections.unmodifiableMap(values).entrySet();
    }

    @Override
    public Object get(Object key) {
        return values.get(key);
    }

    @Override
    public boolean containsKey(Object key) {
        return values.containsKey(key);
    }

    @Override
    public int size() {
        return values.size();
    }

    /** The GGUF type of the value under key, or null when there is none. */
    public GgufValueType type(String key) {
        return types.get(key);
    }

    /** For an array value, the type of its elements; null when key is absent or not an array. */
    public GgufValueType elementType(String key) {
        return values.get(key) instanceof GgufArray a ? a.elementType() : null;
    }

    private Object require(String key) {
        Object v = values.get(key);
        if (v == null) throw new GgufFormatException(source, "metadata key '" + key + "' is missing");
        return v;
    }

    private GgufFormatException wrongType(String key, String wanted) {
        GgufValueType t = types.get(key);
        String actual = t == GgufValueType.ARRAY ? "an array of " + elementType(key) : "of type " + t;
        return new GgufFormatException(source, "metadata key '" + key + "' is " + actual + ", expected " + wanted);
    }

    public String getString(String key) {
        if (require(key) instanceof String s) return s;
        throw wrongType(key, "a string");
    }

    public String getString(String key, String orElse) {
        return containsKey(key) ? getString(key) : orElse;
    }

    /** Any integer type whose value fits an int. */
    public int getInt(String key) {
        long v = getLong(key);
        if (v != (int) v || types.get(key) == GgufValueType.UINT64 && v < 0) {
            throw new GgufFormatException(source, "metadata key '" + key + "' is " + Long.toUnsignedString(v) + ", too large for an int");
        }
        return (int) v;
    }

    public int getInt(String key, int orElse) {
        return containsKey(key) ? getInt(key) : orElse;
    }

    /** Any integer type (UINT64 as its 64 bits). */
    public long getLong(String key) {
        Object v = require(key);
        if (v instanceof Integer i) return i;
        if (v instanceof Long l) return l;
        throw wrongType(key, "an integer");
    }

    public long getLong(String key, long orElse) {
        return containsKey(key) ? getLong(key) : orElse;
    }

    /** FLOAT32, FLOAT64 (rounded), or an integer. */
    public float getFloat(String key) {
        return (float) getDouble(key);
    }

    public float getFloat(String key, float orElse) {
        return containsKey(key) ? getFloat(key) : orElse;
    }

    /** FLOAT64, FLOAT32, or an integer. */
    public double getDouble(String key) {
        Object v = require(key);
        if (v instanceof Float f) return f;
        if (v instanceof Double d) return d;
        if (v instanceof Integer || v instanceof Long) return getLong(key);
        throw wrongType(key, "a number");
    }

    public boolean getBoolean(String key) {
        if (require(key) instanceof Boolean b) return b;
        throw wrongType(key, "a bool");
    }

    public boolean getBoolean(String key, boolean orElse) {
        return containsKey(key) ? getBoolean(key) : orElse;
    }

    public GgufArray getArray(String key) {
        if (require(key) instanceof GgufArray a) return a;
        throw wrongType(key, "an array");
    }

    public String[] getStringArray(String key) {
        if (getArray(key).values() instanceof String[] s) return s.clone();
        throw wrongType(key, "an array of strings");
    }

    /** An array of FLOAT32, FLOAT64 (rounded) or integers, as floats. */
    public float[] getFloatArray(String key) {
        Object v = getArray(key).values();
        if (v instanceof float[] f) return f.clone();
        if (v instanceof double[] d) {
            float[] out = new float[d.length];
            for (int i = 0; i < d.length; i++) out[i] = (float) d[i];
            return out;
        }
        if (v instanceof int[] ints) {
            float[] out = new float[ints.length];
            for (int i = 0; i < ints.length; i++) out[i] = ints[i];
            return out;
        }
        if (v instanceof long[] longs) {
            float[] out = new float[longs.length];
            for (int i = 0; i < longs.length; i++) out[i] = longs[i];
            return out;
        }
        throw wrongType(key, "an array of numbers");
    }

    /** An array of integers that all fit an int. */
    public int[] getIntArray(String key) {
        Object v = getArray(key).values();
        if (v instanceof int[] ints) return ints.clone();
        if (v instanceof long[] longs) {
            int[] out = new int[longs.length];
            boolean unsigned = elementType(key) == GgufValueType.UINT64;
            for (int i = 0; i < longs.length; i++) {
                if (longs[i] != (int) longs[i] || unsigned && longs[i] < 0) {
                    throw new GgufFormatException(source, "metadata key '" + key + "' holds " + Long.toUnsignedString(longs[i]) + " at index " + i + ", too large for an int");
                }
                out[i] = (int) longs[i];
            }
            return out;
        }
        throw wrongType(key, "an array of integers");
    }

    /** An array of integers, as longs. */
    public long[] getLongArray(String key) {
        Object v = getArray(key).values();
        if (v instanceof long[] longs) return longs.clone();
        if (v instanceof int[] ints) {
            long[] out = new long[ints.length];
            for (int i = 0; i < ints.length; i++) out[i] = ints[i];
            return out;
        }
        throw wrongType(key, "an array of integers");
    }
}
