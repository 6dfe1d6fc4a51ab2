package magicpig.wire;

/** Type ids carried in {@link MessageHeader}; one per message of the data plane. */
public final class MessageType {
    /** Worker to shard: "reply to me on this channel and stream"; shard to worker: the same, answered. */
    public static final int HELLO = 1;
    public static final int ATTENTION_QUERY = 2;
    public static final int PARTIAL_STATES = 3;
    public static final int BLOCK_CHUNK = 4;
    public static final int BLOCK_ACK = 5;
    public static final int BLOCK_FREE = 6;
    public static final int ERROR = 7;

    private static final String[] NAMES = {
        "UNKNOWN", "Hello", "AttentionQuery", "PartialStates", "BlockChunk", "BlockAck", "BlockFree", "Error"
    };

    private MessageType() {}

    /** A readable name for logs and errors; "UNKNOWN(n)" for an id this version does not know. */
    public static String name(int type) {
        return type > 0 && type < NAMES.length ? NAMES[type] : "UNKNOWN(" + type + ")";
    }
}
