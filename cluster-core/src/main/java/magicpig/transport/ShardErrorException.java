package magicpig.transport;

import magicpig.wire.ErrorMessage;

/** A shard answered a request with an {@link ErrorMessage}. */
public final class ShardErrorException extends DataPlaneException {
    private final String shard;
    private final long correlationId;
    private final int code;

    public ShardErrorException(String shard, long correlationId, int code, String text) {
        super("shard '" + shard + "' failed request " + correlationId + ": " + ErrorMessage.codeName(code) + ": " + text);
        this.shard = shard;
        this.correlationId = correlationId;
        this.code = code;
    }

    public String shard() {
        return shard;
    }

    public long correlationId() {
        return correlationId;
    }

    /** One of the codes in {@link ErrorMessage}. */
    public int code() {
        return code;
    }
}
