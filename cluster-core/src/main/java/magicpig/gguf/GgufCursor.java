package magicpig.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Little-endian reads from the mapped file at a moving position. Every read checks the bytes it
 * needs against the end of the file first, so a truncated file fails with a message that says
 * what was being read and where, never with an index exception.
 */
final class GgufCursor {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MemorySegment data;
    private long position;

    GgufCursor(Path file, MemorySegment data) {
        this.file = file;
        this.data = data;
    }

    long position() {
        return position;
    }

    void seek(long position) {
        this.position = position;
    }

    long remaining() {
        return data.byteSize() - position;
    }

    GgufFormatException error(String problem) {
        return new GgufFormatException(file, problem);
    }

    /** Claims n bytes for {@code what}, failing as truncated if the file ends first. */
    private long take(long n, String what) {
        if (n > remaining()) {
            throw error("truncated: reading " + what + " at offset " + position + " needs " + n + " bytes, but the file ends at " + data.byteSize());
        }
        long at = position;
        position += n;
        return at;
    }

    int u8(String what) {
        return data.get(ValueLayout.JAVA_BYTE, take(1, what)) & 0xFF;
    }

    byte i8(String what) {
        return data.get(ValueLayout.JAVA_BYTE, take(1, what));
    }

    short i16(String what) {
        return data.get(SHORT, take(2, what));
    }

    int i32(String what) {
        return data.get(INT, take(4, what));
    }

    long i64(String what) {
        return data.get(LONG, take(8, what));
    }

    float f32(String what) {
        return data.get(FLOAT, take(4, what));
    }

    double f64(String what) {
        return data.get(DOUBLE, take(8, what));
    }

    /**
     * A uint64 count of things of at least {@code minBytes} each: a count that could not fit in the
     * rest of the file is refused before anything is allocated for it.
     */
    long count(String what, long minBytes) {
        long n = i64(what);
        if (n < 0 || n > remaining() / minBytes) {
            throw error(what + " " + Long.toUnsignedString(n) + " at offset " + (position - 8) + " is impossible: that many need at least "
                    + minBytes + " bytes each, and only " + remaining() + " bytes follow (truncated or corrupt file)");
        }
        return n;
    }

    /** A GGUF string: uint64 byte length, then UTF-8. */
    String string(String what) {
        long length = i64("length of " + what);
        if (length < 0 || length > remaining()) {
            throw error(what + " at offset " + (position - 8) + " claims to be " + Long.toUnsignedString(length) + " bytes long, but only "
                    + remaining() + " bytes follow (truncated or corrupt file)");
        }
        if (length > Integer.MAX_VALUE - 8) throw error(what + " at offset " + (position - 8) + " is " + length + " bytes long, too long for a string");
        long at = take(length, what);
        byte[] bytes = new byte[(int) length];
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, at, bytes, 0, bytes.length);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
