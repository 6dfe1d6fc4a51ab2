package magicpig.transport;

import io.aeron.Publication;
import io.aeron.logbuffer.BufferClaim;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;

/**
 * Offers messages on one publication and checks every result. BACK_PRESSURED and ADMIN_ACTION are
 * retried with an idle strategy until the offer deadline and counted; NOT_CONNECTED, CLOSED and
 * MAX_POSITION_EXCEEDED, or the deadline, throw a {@link DataPlaneException} naming the peer.
 *
 * <p>Three ways in: a message already encoded in a buffer ({@link #send}); a message gathered
 * from two buffers, for a header plus a payload that stays where it is ({@link #send(DirectBuffer,
 * int, int, DirectBuffer, int, int)}); and a message that fits one frame, encoded in place in the
 * log buffer through a {@link BufferClaim} ({@link #claim} then {@link #commit}). Used by one
 * thread; allocates nothing except the exception when it fails.
 */
final class PublicationSender {
    private final Publication publication;
    private final String peer;
    private final IdleStrategy idle;
    private final long offerTimeoutNs;
    private final TransportCounters counters;
    private final BufferClaim bufferClaim = new BufferClaim();
    private int claimedLength;

    PublicationSender(Publication publication, String peer, IdleStrategy idle, long offerTimeoutNs,
                      TransportCounters counters) {
        this.publication = publication;
        this.peer = peer;
        this.idle = idle;
        this.offerTimeoutNs = offerTimeoutNs;
        this.counters = counters;
    }

    Publication publication() {
        return publication;
    }

    /** The largest message that fits one frame, so can be {@linkplain #claim claimed}. */
    int maxPayloadLength() {
        return publication.maxPayloadLength();
    }

    int maxMessageLength() {
        return publication.maxMessageLength();
    }

    void send(DirectBuffer buffer, int offset, int length) {
        checkLength(length);
        long deadline = 0;
        while (true) {
            long result = publication.offer(buffer, offset, length);
            if (result > 0) {
                counters.sent(length);
                idle.reset();
                return;
            }
            deadline = backOff(result, deadline);
        }
    }

    void send(DirectBuffer first, int firstOffset, int firstLength, DirectBuffer second, int secondOffset,
              int secondLength) {
        int length = firstLength + secondLength;
        checkLength(length);
        long deadline = 0;
        while (true) {
            long result = publication.offer(first, firstOffset, firstLength, second, secondOffset, secondLength);
            if (result > 0) {
                counters.sent(length);
                idle.reset();
                return;
            }
            deadline = backOff(result, deadline);
        }
    }

    /**
     * Claims {@code length} bytes (at most {@link #maxPayloadLength()}) in the log buffer; encode
     * into {@link #claimBuffer()} from {@link #claimOffset()} and then {@link #commit()} at once.
     */
    void claim(int length) {
        if (length > publication.maxPayloadLength()) {
            throw new IllegalArgumentException("a claim of " + length + " bytes exceeds one frame ("
                + publication.maxPayloadLength() + ") on " + peer);
        }
        long deadline = 0;
        while (true) {
            long result = publication.tryClaim(length, bufferClaim);
            if (result > 0) {
                claimedLength = length;
                idle.reset();
                return;
            }
            deadline = backOff(result, deadline);
        }
    }

    MutableDirectBuffer claimBuffer() {
        return bufferClaim.buffer();
    }

    int claimOffset() {
        return bufferClaim.offset();
    }

    void commit() {
        bufferClaim.commit();
        counters.sent(claimedLength);
    }

    /** Counts a refused offer and waits, or throws when it cannot succeed or the deadline passed. */
    private long backOff(long result, long deadline) {
        if (result == Publication.BACK_PRESSURED) {
            counters.increment(TransportCounters.BACK_PRESSURED);
        } else if (result == Publication.ADMIN_ACTION) {
            counters.increment(TransportCounters.ADMIN_ACTIONS);
        } else {
            counters.increment(TransportCounters.OFFER_FAILURES);
            throw new DataPlaneException("offer to " + peer + " failed: " + describe(result));
        }
        long now = System.nanoTime();
        if (deadline == 0) {
            deadline = now + offerTimeoutNs;
        } else if (now - deadline > 0) {
            counters.increment(TransportCounters.OFFER_FAILURES);
            throw new DataPlaneException("offer to " + peer + " still " + Publication.errorString(result) + " after "
                + offerTimeoutNs / 1_000_000 + " ms: the receiver is not keeping up");
        }
        idle.idle();
        return deadline;
    }

    private void checkLength(int length) {
        if (length > publication.maxMessageLength()) {
            throw new DataPlaneException("a message of " + length + " bytes exceeds the max message length "
                + publication.maxMessageLength() + " (term length / 8) of " + peer);
        }
    }

    static String describe(long result) {
        if (result == Publication.NOT_CONNECTED) {
            return "NOT_CONNECTED: no subscriber is connected (the peer is down or has not joined)";
        }
        if (result == Publication.CLOSED) {
            return "CLOSED: the publication is closed";
        }
        if (result == Publication.MAX_POSITION_EXCEEDED) {
            return "MAX_POSITION_EXCEEDED: the stream reached its maximum position and must be recreated";
        }
        return Publication.errorString(result);
    }
}
