package magicpig.transport;

import io.aeron.ExclusivePublication;

/**
 * A worker's connection to one shard, made by {@link WorkerEndpoint#connect}: the publication to
 * the shard's channel and stream, and the shard's name (from its Hello), which errors quote.
 */
public final class ShardLink {
    private final String name;
    private final String channel;
    private final int streamId;
    final ExclusivePublication publication;
    final PublicationSender sender;
    final int replySessionId;
    final String description;

    ShardLink(String name, String channel, int streamId, ExclusivePublication publication, PublicationSender sender,
              int replySessionId) {
        this.name = name;
        this.channel = channel;
        this.streamId = streamId;
        this.publication = publication;
        this.sender = sender;
        this.replySessionId = replySessionId;
        this.description = describe(name, channel, streamId);
    }

    static String describe(String name, String channel, int streamId) {
        return "shard '" + name + "' (" + channel + " stream " + streamId + ")";
    }

    /** The name the shard gave in its Hello. */
    public String name() {
        return name;
    }

    public String channel() {
        return channel;
    }

    public int streamId() {
        return streamId;
    }

    /** Whether the shard's subscription is still connected to this link's publication. */
    public boolean isConnected() {
        return publication.isConnected();
    }

    /** Bytes a single message to this shard may have (the publication's term length / 8). */
    public int maxMessageLength() {
        return publication.maxMessageLength();
    }

    @Override
    public String toString() {
        return description;
    }
}
