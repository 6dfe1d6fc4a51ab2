package magicpig.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import magicpig.tensor.GgmlType;
import magicpig.tensor.WeightMatrix;

/**
 * A GGUF file (versions 2 and 3, little-endian), memory-mapped read-only. Tensors are handed out
 * as slices of the mapping, valid until {@link #close}.
 *
 * <p>Layout: magic "GGUF", uint32 version, uint64 tensor count, uint64 metadata count; the
 * metadata (string key, uint32 value type, value); the tensor infos (string name, uint32 n_dims,
 * uint64 dims[n_dims] fastest-varying first, uint32 GGML type, uint64 offset into the data);
 * padding to {@code general.alignment} (default 32); the tensor data.
 *
 * <p>Whatever is wrong with a file (not GGUF, an unsupported version, truncated anywhere,
 * impossible counts or lengths, a tensor past the end of the file or of an unsupported type, rows
 * that are not whole blocks) is a {@link GgufFormatException} naming the file and the problem.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    static final int MAGIC = 0x4655_4747;
    public static final int DEFAULT_ALIGNMENT = 32;
    /** GGML_MAX_DIMS. */
    static final int MAX_DIMS = 4;
    /** Arrays of arrays deeper than this are refused (a corrupt file could otherwise recurse without end). */
    private static final int MAX_NESTING = 16;

    /** A tensor as the file lists it, whatever its type. */
    public record TensorInfo(String name, int typeId, long[] dims, long offset) {
        public TensorInfo {
            dims = dims.clone();
        }

        @Override
        public long[] dims() {
            return dims.clone();
        }

        /** The GGML name of the type ("Q5_K"), or "unknown". */
        public String typeName() {
            return GgufFile.typeName(typeId);
        }

        @Override
        public String toString() {
            return name + " " + typeName() + Arrays.toString(dims) + " @" + offset;
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final int version;
    private final GgufMetadata metadata;
    private final int alignment;
    private final long dataOffset;
    private final Map<String, TensorInfo> tensors = new LinkedHashMap<>();

    /** Opens and checks a GGUF file; the caller closes it (the tensors' memory goes with it). */
    public static GgufFile open(Path path) throws IOException {
        long size = Files.size(path);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            }
            return new GgufFile(path, arena, file);
        } catch (RuntimeException | IOException | Error e) {
            arena.close();
            throw e;
        }
    }

    private GgufFile(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        GgufCursor in = new GgufCursor(path, file);
        if (file.byteSize() < 4) throw in.error("not a GGUF file: only " + file.byteSize() + " bytes long");
        int magic = in.i32("magic");
        if (magic != MAGIC) throw in.error("not a GGUF file: it starts with " + describeMagic(magic) + " where \"GGUF\" should be");
        version = in.i32("version");
        checkVersion(in, version);
        // Least bytes of one tensor info: name length, n_dims, one dim, type, offset.
        long tensorCount = in.count("tensor count", 8 + 4 + 8 + 4 + 8);
        // Least bytes of one metadata entry: key length, value type, a one-byte value.
        long kvCount = in.count("metadata entry count", 8 + 4 + 1);

        metadata = new GgufMetadata(path.toString());
        for (long i = 0; i < kvCount; i++) {
            String key = in.string("key of metadata entry " + i);
            if (metadata.containsKey(key)) throw in.error("metadata key '" + key + "' appears twice");
            int typeId = in.i32("value type of metadata key '" + key + "'");
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) throw in.error("metadata key '" + key + "' has unknown value type " + typeId);
            metadata.put(key, type, readValue(in, type, "metadata key '" + key + "'", 0));
        }
        alignment = readAlignment(in);

        for (long i = 0; i < tensorCount; i++) {
            TensorInfo t = readTensorInfo(in, i);
            if (tensors.containsKey(t.name())) throw in.error("tensor '" + t.name() + "' appears twice");
            tensors.put(t.name(), t);
        }
        dataOffset = alignUp(in.position(), alignment);
        for (TensorInfo t : tensors.values()) checkTensor(in, t);
    }

    private static void checkVersion(GgufCursor in, int version) {
        if (version == 2 || version == 3) return;
        if (version == 1) {
            throw in.error("GGUF version 1 is not supported (only versions 2 and 3): version 1 is the early draft with 32-bit counts; "
                    + "convert the model again with a current llama.cpp");
        }
        int swapped = Integer.reverseBytes(version);
        if (swapped >= 1 && swapped <= 3) {
            throw in.error("big-endian GGUF file (version " + swapped + " written byte-swapped): only little-endian files are supported");
        }
        throw in.error("unsupported GGUF version " + Integer.toUnsignedString(version) + " (supported: 2 and 3)");
    }

    private static String describeMagic(int magic) {
        StringJoiner bytes = new StringJoiner(" ", "bytes ", "");
        for (int i = 0; i < 4; i++) bytes.add(String.format("0x%02X", (magic >>> 8 * i) & 0xFF));
        return bytes.toString();
    }

    /** One metadata value of the given type; {@code what} names it in error messages. */
    private static Object readValue(GgufCursor in, GgufValueType type, String what, int depth) {
        return switch (type) {
            case UINT8 -> in.u8(what);
            case INT8 -> (int) in.i8(what);
            case UINT16 -> in.i16(what) & 0xFFFF;
            case INT16 -> (int) in.i16(what);
            case UINT32 -> in.i32(what) & 0xFFFF_FFFFL;
            case INT32 -> in.i32(what);
            case UINT64, INT64 -> in.i64(what);
            case FLOAT32 -> in.f32(what);
            case FLOAT64 -> in.f64(what);
            case BOOL -> {
                int b = in.u8(what);
                if (b > 1) throw in.error(what + " is a bool of value " + b + " (must be 0 or 1) at offset " + (in.position() - 1));
                yield b == 1;
            }
            case STRING -> in.string(what);
            case ARRAY -> readArray(in, what, depth + 1);
        };
    }

    private static GgufArray readArray(GgufCursor in, String what, int depth) {
        if (depth > MAX_NESTING) throw in.error(what + " nests arrays more than " + MAX_NESTING + " deep");
        int typeId = in.i32("element type of " + what);
        GgufValueType type = GgufValueType.byId(typeId);
        if (type == null) throw in.error(what + " is an array of unknown value type " + typeId);
        long n = in.count("length of " + what, type.minBytes);
        if (n > Integer.MAX_VALUE - 8) throw in.error(what + " has " + n + " elements, more than a Java array holds");
        int length = (int) n;
        String element = "element of " + what;
        Object values = switch (type) {
            case UINT8, INT8, UINT16, INT16, INT32 -> {
                int[] a = new int[length];
                for (int i = 0; i < length; i++) a[i] = ((Number) readValue(in, type, element, depth)).intValue();
                yield a;
            }
            case UINT32, UINT64, INT64 -> {
                long[] a = new long[length];
                for (int i = 0; i < length; i++) a[i] = (Long) readValue(in, type, element, depth);
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[length];
                for (int i = 0; i < length; i++) a[i] = in.f32(element);
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[length];
                for (int i = 0; i < length; i++) a[i] = in.f64(element);
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[length];
                for (int i = 0; i < length; i++) a[i] = (Boolean) readValue(in, type, element, depth);
                yield a;
            }
            case STRING -> {
                String[] a = new String[length];
                for (int i = 0; i < length; i++) a[i] = in.string(element);
                yield a;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[length];
                for (int i = 0; i < length; i++) a[i] = readArray(in, element, depth + 1);
                yield a;
            }
        };
        return new GgufArray(type, values);
    }

    private int readAlignment(GgufCursor in) {
        if (!metadata.containsKey("general.alignment")) return DEFAULT_ALIGNMENT;
        GgufValueType type = metadata.type("general.alignment");
        if (type == null || !type.isInteger()) throw in.error("general.alignment is of type " + type + ", expected an integer");
        long a = metadata.getLong("general.alignment");
        if (a <= 0 || a > 1 << 30 || Long.bitCount(a) != 1) throw in.error("general.alignment is " + a + ", expected a power of two");
        return (int) a;
    }

    private static TensorInfo readTensorInfo(GgufCursor in, long index) {
        String name = in.string("name of tensor " + index);
        String what = "tensor '" + name + "'";
        int nDims = in.i32("dimension count of " + what);
        if (nDims < 1 || nDims > MAX_DIMS) throw in.error(what + " has " + Integer.toUnsignedString(nDims) + " dimensions; GGML allows 1 to " + MAX_DIMS);
        long[] dims = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++) {
            dims[d] = in.i64("dimension " + d + " of " + what);
            if (dims[d] < 0) throw in.error(what + " has dimension " + d + " of " + Long.toUnsignedString(dims[d]) + ", which is negative as int64");
            try {
                elements = Math.multiplyExact(elements, dims[d]);
            } catch (ArithmeticException e) {
                throw in.error(what + " has dimensions " + Arrays.toString(dims) + ": more elements than fit in 63 bits");
            }
        }
        int typeId = in.i32("type of " + what);
        long offset = in.i64("data offset of " + what);
        return new TensorInfo(name, typeId, dims, offset);
    }

    /** Checks a tensor's offset, and, for a supported type, its row length and that its bytes are in the file. */
    private void checkTensor(GgufCursor in, TensorInfo t) {
        String what = "tensor '" + t.name() + "'";
        if (t.offset() < 0 || t.offset() % alignment != 0) {
            throw in.error(what + " starts at data offset " + Long.toUnsignedString(t.offset()) + ", not a multiple of the alignment " + alignment);
        }
        GgmlType type = GgmlType.byId(t.typeId());
        if (type == null) return; // refused when asked for, so the rest of the file stays readable
        long bytes = byteSize(in, t, type);
        long start = dataOffset + t.offset();
        if (t.offset() > file.byteSize() || start + bytes > file.byteSize()) {
            throw in.error("truncated: " + what + " (" + type + " " + Arrays.toString(t.dims()) + ") needs bytes " + start + " to "
                    + (start + bytes) + ", but the file ends at " + file.byteSize());
        }
    }

    private static long byteSize(GgufCursor in, TensorInfo t, GgmlType type) {
        long cols = t.dims()[0];
        if (cols % type.blockSize != 0) {
            throw in.error("tensor '" + t.name() + "' has rows of " + cols + " values, not a multiple of the " + type.blockSize + "-value blocks of " + type);
        }
        long rows = 1;
        for (int d = 1; d < t.dims().length; d++) rows *= t.dims()[d];
        try {
            return Math.multiplyExact(rows, type.rowBytes(cols));
        } catch (ArithmeticException e) {
            throw in.error("tensor '" + t.name() + "' " + Arrays.toString(t.dims()) + " is larger than 2^63 bytes");
        }
    }

    static long alignUp(long offset, int alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    public int alignment() {
        return alignment;
    }

    /** Where the tensor data starts in the file (tensor offsets count from here). */
    public long dataOffset() {
        return dataOffset;
    }

    /** Tensor names in file order. */
    public List<String> tensorNames() {
        return Collections.unmodifiableList(new ArrayList<>(tensors.keySet()));
    }

    /** Every tensor as listed, supported type or not, in file order. */
    public List<TensorInfo> tensorInfos() {
        return List.copyOf(tensors.values());
    }

    public boolean hasTensor(String name) {
        return tensors.containsKey(name);
    }

    /** The named tensor, its data a slice of the mapped file. */
    public GgufTensor tensor(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new GgufFormatException(path, "has no tensor '" + name + "' (it has " + tensors.size() + " tensors)");
        GgmlType type = GgmlType.byId(t.typeId());
        if (type == null) {
            StringJoiner supported = new StringJoiner(", ");
            for (GgmlType g : GgmlType.values()) supported.add(g.name());
            throw new GgufFormatException(path, "tensor " + name + " has type " + t.typeName() + " (" + t.typeId() + "), which is not supported; supported: " + supported);
        }
        long bytes = type.bytes(1, t.dims()[0]);
        for (int d = 1; d < t.dims().length; d++) bytes *= t.dims()[d];
        return new GgufTensor(name, type, t.dims(), file.asSlice(dataOffset + t.offset(), bytes));
    }

    /** The named 2-D tensor as a [dims[1] x dims[0]] matrix over the mapped bytes. */
    public WeightMatrix matrix(String name) {
        GgufTensor t = tensor(name);
        long[] dims = t.dims();
        for (int d = 2; d < dims.length; d++) {
            if (dims[d] != 1) throw new GgufFormatException(path, "tensor " + name + " has dimensions " + Arrays.toString(dims) + ", expected a matrix");
        }
        if (dims.length < 2) throw new GgufFormatException(path, "tensor " + name + " is a vector of " + dims[0] + " values, expected a matrix");
        if (dims[0] > Integer.MAX_VALUE || dims[1] > Integer.MAX_VALUE) {
            throw new GgufFormatException(path, "tensor " + name + " " + Arrays.toString(dims) + " has more rows or columns than an int counts");
        }
        return WeightMatrix.of(t.type(), t.data(), (int) dims[1], (int) dims[0]);
    }

    /** All values of the named tensor, dequantized to f32 in row-major order (for norms and other small tensors). */
    public float[] vector(String name) {
        GgufTensor t = tensor(name);
        if (t.elementCount() > Integer.MAX_VALUE - 8) throw new GgufFormatException(path, "tensor " + name + " has " + t.elementCount() + " values, too many for one float[]");
        int rows = (int) t.rows(), cols = (int) t.cols();
        float[] out = new float[rows * cols];
        if (out.length == 0) return out;
        WeightMatrix m = WeightMatrix.of(t.type(), t.data(), rows, cols);
        for (int r = 0; r < rows; r++) m.dequantizeRow(r, out, r * cols);
        return out;
    }

    /** Unmaps the file: every tensor's data becomes inaccessible. */
    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "GGUF v" + version + " " + path + " (" + metadata.size() + " metadata keys, " + tensors.size() + " tensors)";
    }

    /** GGML's name for a type id (ggml.h's enum ggml_type), supported or not. */
    static String typeName(int id) {
        String[] names = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
            "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64",
            "F64", "IQ1_M", "BF16", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};
        return id >= 0 && id < names.length ? names[id] : "unknown";
    }
}
