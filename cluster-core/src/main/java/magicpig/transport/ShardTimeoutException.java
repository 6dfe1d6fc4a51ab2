package magicpig.transport;

import java.util.List;

/** One or more shards did not answer within the reply timeout. */
public final class ShardTimeoutException extends DataPlaneException {
    private final List<String> shards;

    public ShardTimeoutException(String message, List<String> shards) {
        super(message);
        this.shards = List.copyOf(shards);
    }

    /** Names of the shards that still owed a reply. */
    public List<String> shards() {
        return shards;
    }
}
