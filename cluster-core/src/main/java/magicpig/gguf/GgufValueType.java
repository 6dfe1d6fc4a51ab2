package magicpig.gguf;

/**
 * The types of GGUF metadata values, numbered as the format numbers them. In memory (see
 * {@link GgufMetadata}) integers of up to 32 signed bits are {@link Integer}s, UINT32, INT64 and
 * UINT64 are {@link Long}s (UINT64 keeps its 64 bits: values of 2^63 and up read as negative),
 * FLOAT32 a {@link Float}, FLOAT64 a {@link Double}, BOOL a {@link Boolean}, STRING a
 * {@link String}, and ARRAY a {@link GgufArray}.
 */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    /** uint64 length, then that many bytes of UTF-8. */
    STRING(8, 8),
    /** uint32 element type, uint64 count, then the elements. */
    ARRAY(9, 12),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    public final int id;
    /** Bytes a value takes in the file; for STRING and ARRAY, the least (an empty one). */
    public final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    private static final GgufValueType[] BY_ID = values();

    /** The type with this id, or null. */
    public static GgufValueType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }

    /** Whether values of this type are integers (held as Integer or Long). */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    /** Whether values of this type are held as Long (else, for integers, as Integer). */
    boolean isLong() {
        return this == UINT32 || this == UINT64 || this == INT64;
    }

    /** Whether the integer v is in this integer type's range (UINT64: any bits). */
    boolean holds(long v) {
        return switch (this) {
            case UINT8 -> v >= 0 && v <= 0xFF;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xFFFF;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xFFFF_FFFFL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            case UINT64, INT64 -> true;
            default -> false;
        };
    }
}
