package magicpig.transport;

/**
 * The data plane could not do what was asked: a peer is not connected or went away, an offer
 * stayed back-pressured past its deadline, a handshake or reply did not come in time, a shard
 * answered with an error. The message names the peer (name, channel and stream).
 */
public class DataPlaneException extends RuntimeException {
    public DataPlaneException(String message) {
        super(message);
    }

    public DataPlaneException(String message, Throwable cause) {
        super(message, cause);
    }
}
