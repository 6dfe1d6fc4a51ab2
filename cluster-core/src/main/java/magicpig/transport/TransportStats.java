package magicpig.transport;

/**
 * A snapshot of one endpoint's counters, for the metrics layer. Counts are since the endpoint was
 * made; bytes are whole messages (headers included), before Aeron's framing.
 *
 * @param messagesSent       messages offered successfully
 * @param bytesSent          their bytes
 * @param messagesReceived   messages (after reassembly) taken off the subscription
 * @param bytesReceived      their bytes
 * @param backPressureEvents offers refused with BACK_PRESSURED (each retry counts)
 * @param adminActionEvents  offers refused with ADMIN_ACTION (each retry counts)
 * @param offerFailures      offers given up: NOT_CONNECTED, CLOSED, MAX_POSITION_EXCEEDED or deadline
 * @param timeouts           waits for replies or handshakes that ran out of time
 * @param malformedMessages  received frames that did not decode
 * @param staleReplies       replies to requests nobody waits for any more (late, or unknown)
 * @param duplicateChunks    chunks received twice (ignored)
 * @param chunkGaps          transfers dropped because a chunk was missing
 * @param errorReplies       {@link magicpig.wire.ErrorMessage}s sent (shard) or received (worker)
 */
public record TransportStats(
    long messagesSent,
    long bytesSent,
    long messagesReceived,
    long bytesReceived,
    long backPressureEvents,
    long adminActionEvents,
    long offerFailures,
    long timeouts,
    long malformedMessages,
    long staleReplies,
    long duplicateChunks,
    long chunkGaps,
    long errorReplies) {

    /** No traffic. */
    public static final TransportStats ZERO = new TransportStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** These counts and {@code o}'s, summed. */
    public TransportStats plus(TransportStats o) {
        return new TransportStats(messagesSent + o.messagesSent, bytesSent + o.bytesSent, messagesReceived + o.messagesReceived,
            bytesReceived + o.bytesReceived, backPressureEvents + o.backPressureEvents, adminActionEvents + o.adminActionEvents,
            offerFailures + o.offerFailures, timeouts + o.timeouts, malformedMessages + o.malformedMessages,
            staleReplies + o.staleReplies, duplicateChunks + o.duplicateChunks, chunkGaps + o.chunkGaps, errorReplies + o.errorReplies);
    }
}
