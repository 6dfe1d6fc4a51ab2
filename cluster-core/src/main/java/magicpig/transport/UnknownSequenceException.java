package magicpig.transport;

import magicpig.wire.ErrorMessage;

/**
 * Thrown by a shard's handler when it holds no blocks of the queried sequence (or not the block
 * named); the endpoint answers {@link ErrorMessage#UNKNOWN_SEQUENCE} instead of HANDLER_FAILED, so a
 * worker can tell a query that raced a release (a cancel, the end of an attempt) from a fault.
 */
public final class UnknownSequenceException extends IllegalStateException {
    public UnknownSequenceException(String message) {
        super(message);
    }
}
