package magicpig.shard;

/** A block's data does not fit the shard's memory budget; the message says by how much. */
public final class ShardFullException extends IllegalStateException {
    public ShardFullException(String message) {
        super(message);
    }
}
