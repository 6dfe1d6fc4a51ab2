package magicpig.tensor;

/**
 * Storage types of weight tensors, numbered as GGUF numbers them. A row of {@code cols} values is
 * stored as {@code cols / blockSize} blocks of {@code blockBytes} bytes each.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q8_0(8, 32, 34),
    Q4_K(12, 256, 144),
    Q6_K(14, 256, 210),
    BF16(30, 1, 2);

    public final int id;
    public final int blockSize;
    public final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Bytes of one row of {@code cols} values; cols must be a multiple of the block size. */
    public long rowBytes(long cols) {
        if (cols % blockSize != 0) {
            throw new IllegalArgumentException(this + " needs rows that are a multiple of " + blockSize + " values, got " + cols);
        }
        return cols / blockSize * blockBytes;
    }

    public long bytes(long rows, long cols) {
        return rows * rowBytes(cols);
    }

    /** The type with this GGUF id, or null when we do not support it. */
    public static GgmlType byId(int id) {
        for (GgmlType t : values()) {
            if (t.id == id) return t;
        }
        return null;
    }

    /** Parses a user-facing name such as "q8_0" or "bf16". */
    public static GgmlType parse(String name) {
        for (GgmlType t : values()) {
            if (t.name().equalsIgnoreCase(name)) return t;
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "' (expected one of f32, f16, bf16, q8_0, q4_0, q4_k, q6_k)");
    }
}
