package magicpig.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import magicpig.tensor.GgmlType;
import magicpig.tensor.Quantizer;
import magicpig.tensor.WeightMatrix;

/**
 * Builds a GGUF v3 file (little-endian): metadata of any value type, then tensors of any supported
 * type, each aligned to {@code general.alignment} (32 unless that key is set). Nothing is written
 * until {@link #write}; tensor bytes are copied from their segments then, so they must stay
 * alive until it returns.
 *
 * <pre>
 *   new GgufWriter()
 *       .putString("general.architecture", "llama")
 *       .putUInt32("llama.block_count", 4)
 *       .addTensor("token_embd.weight", embeddings)   // a WeightMatrix: dims [cols, rows]
 *       .write(path);
 * </pre>
 */
public final class GgufWriter {
    private final GgufMetadata metadata = new GgufMetadata("GGUF writer");
    private final List<Pending> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    private record Pending(String name, GgmlType type, long[] dims, MemorySegment data, long bytes) {}

    /** Sets key to value as the given GGUF type (replacing an earlier value). Integers may be any Number in the type's range. */
    public GgufWriter put(String key, GgufValueType type, Object value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value of " + key);
        metadata.put(key, type, canonical(key, type, value));
        return this;
    }

    private static Object canonical(String key, GgufValueType type, Object value) {
        if (type.isInteger()) {
            if (!(value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte)) {
                throw new IllegalArgumentException(key + ": " + type + " takes an integer, got " + value.getClass().getSimpleName());
            }
            long v = ((Number) value).longValue();
            if (!type.holds(v)) throw new IllegalArgumentException(key + ": " + v + " is out of range for " + type);
            return type.isLong() ? (Object) v : (Object) (int) v;
        }
        return switch (type) {
            case FLOAT32 -> value instanceof Number n ? n.floatValue() : wrong(key, type, value);
            case FLOAT64 -> value instanceof Number n ? n.doubleValue() : wrong(key, type, value);
            case BOOL -> value instanceof Boolean ? value : wrong(key, type, value);
            case STRING -> value instanceof String ? value : wrong(key, type, value);
            case ARRAY -> value instanceof GgufArray ? value : wrong(key, type, value);
            default -> throw new AssertionError(type);
        };
    }

    private static Object wrong(String key, GgufValueType type, Object value) {
        throw new IllegalArgumentException(key + ": " + type + " does not take a " + value.getClass().getSimpleName());
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValueType.STRING, value);
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValueType.BOOL, value);
    }

    public GgufWriter putUInt8(String key, int value) {
        return put(key, GgufValueType.UINT8, value);
    }

    public GgufWriter putInt8(String key, int value) {
        return put(key, GgufValueType.INT8, value);
    }

    public GgufWriter putUInt16(String key, int value) {
        return put(key, GgufValueType.UINT16, value);
    }

    public GgufWriter putInt16(String key, int value) {
        return put(key, GgufValueType.INT16, value);
    }

    public GgufWriter putUInt32(String key, long value) {
        return put(key, GgufValueType.UINT32, value);
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValueType.INT32, value);
    }

    public GgufWriter putUInt64(String key, long value) {
        return put(key, GgufValueType.UINT64, value);
    }

    public GgufWriter putInt64(String key, long value) {
        return put(key, GgufValueType.INT64, value);
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValueType.FLOAT32, value);
    }

    public GgufWriter putFloat64(String key, double value) {
        return put(key, GgufValueType.FLOAT64, value);
    }

    public GgufWriter putArray(String key, GgufArray value) {
        return put(key, GgufValueType.ARRAY, value);
    }

    /** The metadata put so far (read-only). */
    public GgufMetadata metadata() {
        return metadata;
    }

    /** Copies every entry of another file's metadata, types included. */
    public GgufWriter putAll(GgufMetadata other) {
        for (Map.Entry<String, Object> e : other.entrySet()) put(e.getKey(), other.type(e.getKey()), e.getValue());
        return this;
    }

    /** Adds a tensor whose bytes (at least type.bytes(rows, dims[0])) are already in type's layout; dims[0] is the row length. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
        Objects.requireNonNull(name, "name");
        if (!tensorNames.add(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        if (dims.length < 1 || dims.length > GgufFile.MAX_DIMS) throw new IllegalArgumentException(name + ": GGUF tensors have 1 to 4 dimensions, got " + dims.length);
        long rows = 1;
        for (int d = 0; d < dims.length; d++) {
            if (dims[d] < 0) throw new IllegalArgumentException(name + ": negative dimension " + Arrays.toString(dims));
            if (d > 0) rows = Math.multiplyExact(rows, dims[d]);
        }
        long bytes = Math.multiplyExact(rows, type.rowBytes(dims[0]));
        if (data.byteSize() < bytes) throw new IllegalArgumentException(name + ": " + type + " " + Arrays.toString(dims) + " needs " + bytes + " bytes, got " + data.byteSize());
        tensors.add(new Pending(name, type, dims.clone(), data, bytes));
        return this;
    }

    /** Adds a matrix as it is stored: dims [cols, rows]. */
    public GgufWriter addTensor(String name, WeightMatrix matrix) {
        return addTensor(name, matrix.type(), new long[] {matrix.cols(), matrix.rows()}, matrix.data());
    }

    /** Adds f32 values, quantized to type, with dims[0] the row length (values.length must be their product). */
    public GgufWriter addTensor(String name, GgmlType type, float[] values, long... dims) {
        long count = 1;
        for (long d : dims) count *= d;
        if (count != values.length) throw new IllegalArgumentException(name + ": dims " + Arrays.toString(dims) + " hold " + count + " values, got " + values.length);
        int cols = Math.toIntExact(dims[0]), rows = cols == 0 ? 0 : values.length / cols;
        MemorySegment data = MemorySegment.ofArray(new byte[Math.toIntExact(type.bytes(rows, cols))]);
        Quantizer.quantize(type, values, rows, cols, data);
        return addTensor(name, type, dims, data);
    }

    /** Writes the file (replacing any file at path). */
    public void write(Path path) throws IOException {
        int alignment = alignment();
        Encoder header = new Encoder();
        header.u32(GgufFile.MAGIC);
        header.u32(3);
        header.u64(tensors.size());
        header.u64(metadata.size());
        for (Map.Entry<String, Object> e : metadata.entrySet()) {
            header.string(e.getKey());
            GgufValueType type = metadata.type(e.getKey());
            header.u32(type.id);
            header.value(type, e.getValue());
        }
        long offset = 0;
        long[] offsets = new long[tensors.size()];
        for (int i = 0; i < tensors.size(); i++) {
            Pending t = tensors.get(i);
            offset = GgufFile.alignUp(offset, alignment);
            offsets[i] = offset;
            header.string(t.name());
            header.u32(t.dims().length);
            for (long d : t.dims()) header.u64(d);
            header.u32(t.type().id);
            header.u64(offset);
            offset += t.bytes();
        }
        long dataStart = GgufFile.alignUp(header.size(), alignment);
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(out, header.bytes());
            long position = header.size();
            for (int i = 0; i < tensors.size(); i++) {
                Pending t = tensors.get(i);
                long start = dataStart + offsets[i];
                writeFully(out, ByteBuffer.allocate(Math.toIntExact(start - position)));
                for (long done = 0; done < t.bytes(); ) {
                    long n = Math.min(t.bytes() - done, 1L << 30);
                    writeFully(out, t.data().asSlice(done, n).asByteBuffer());
                    done += n;
                }
                position = start + t.bytes();
            }
        }
    }

    private int alignment() {
        if (!metadata.containsKey("general.alignment")) return GgufFile.DEFAULT_ALIGNMENT;
        long a = metadata.getLong("general.alignment");
        if (a <= 0 || a > 1 << 30 || Long.bitCount(a) != 1) throw new IllegalArgumentException("general.alignment must be a power of two, got " + a);
        return (int) a;
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) out.write(buffer);
    }

    /** Little-endian bytes of the header, metadata and tensor infos. */
    private static final class Encoder {
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private ByteBuffer room(int n) {
            if (buffer.remaining() < n) {
                long size = Math.max((long) buffer.capacity() * 2, (long) buffer.position() + n);
                if (size > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("GGUF metadata larger than 2 GiB");
                ByteBuffer bigger = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
                buffer.flip();
                bigger.put(buffer);
                buffer = bigger;
            }
            return buffer;
        }

        int size() {
            return buffer.position();
        }

        ByteBuffer bytes() {
            return ByteBuffer.wrap(buffer.array(), 0, buffer.position());
        }

        void u8(int v) {
            room(1).put((byte) v);
        }

        void u16(int v) {
            room(2).putShort((short) v);
        }

        void u32(int v) {
            room(4).putInt(v);
        }

        void u64(long v) {
            room(8).putLong(v);
        }

        void string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            room(utf8.length).put(utf8);
        }

        void value(GgufValueType type, Object v) {
            switch (type) {
                case UINT8, INT8, BOOL -> u8(v instanceof Boolean b ? (b ? 1 : 0) : ((Number) v).intValue());
                case UINT16, INT16 -> u16(((Number) v).intValue());
                case UINT32, INT32 -> u32(((Number) v).intValue());
                case UINT64, INT64 -> u64(((Number) v).longValue());
                case FLOAT32 -> room(4).putFloat((Float) v);
                case FLOAT64 -> room(8).putDouble((Double) v);
                case STRING -> string((String) v);
                case ARRAY -> array((GgufArray) v);
            }
        }

        void array(GgufArray a) {
            GgufValueType t = a.elementType();
            u32(t.id);
            u64(a.length());
            switch (a.values()) {
                case int[] ints -> {
                    for (int v : ints) value(t, v);
                }
                case long[] longs -> {
                    for (long v : longs) value(t, v);
                }
                case float[] floats -> {
                    for (float v : floats) room(4).putFloat(v);
                }
                case double[] doubles -> {
                    for (double v : doubles) room(8).putDouble(v);
                }
                case boolean[] bools -> {
                    for (boolean v : bools) u8(v ? 1 : 0);
                }
                case String[] strings -> {
                    for (String s : strings) string(s);
                }
                case GgufArray[] arrays -> {
                    for (GgufArray inner : arrays) array(inner);
                }
                default -> throw new AssertionError(a.values().getClass());
            }
        }
    }
}
