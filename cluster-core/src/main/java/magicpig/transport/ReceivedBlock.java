package magicpig.transport;

import magicpig.wire.PayloadKind;

/**
 * What a reassembled transfer is, as {@link ShardHandler#onBlock} sees it. One instance per
 * endpoint, refilled for each transfer: read it during the call, do not keep it.
 */
public final class ReceivedBlock {
    long correlationId;
    long sequenceId;
    int blockId;
    int layer;
    int kvHead;
    PayloadKind kind;
    int firstToken;
    int tokenCount;
    int chunkCount;

    public long correlationId() {
        return correlationId;
    }

    public long sequenceId() {
        return sequenceId;
    }

    public int blockId() {
        return blockId;
    }

    public int layer() {
        return layer;
    }

    public int kvHead() {
        return kvHead;
    }

    public PayloadKind kind() {
        return kind;
    }

    public int firstToken() {
        return firstToken;
    }

    public int tokenCount() {
        return tokenCount;
    }

    public int chunkCount() {
        return chunkCount;
    }

    @Override
    public String toString() {
        return "transfer " + correlationId + " (sequence " + sequenceId + ", block " + blockId + ", layer " + layer
            + ", kv head " + kvHead + ", " + kind + ", tokens " + firstToken + "+" + tokenCount + ")";
    }
}
