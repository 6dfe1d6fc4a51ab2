package magicpig.wire;

/**
 * A buffer that does not hold a well-formed message of the data plane: truncated, of another
 * protocol, of an unknown type or version, or with fields out of range. Thrown by a decoder's
 * {@code wrap} before any field is read, so a bad frame never surfaces as an
 * {@code IndexOutOfBoundsException} deep inside a handler. The message names the message type and
 * the numbers that disagree.
 */
public final class WireFormatException extends IllegalArgumentException {
    public WireFormatException(String message) {
        super(message);
    }
}
