package magicpig.transport;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counters of one endpoint. One thread writes (the endpoint's), any thread may read a
 * {@link #snapshot()}: increments are a plain read and a release store, so the hot path pays no
 * atomic read-modify-write.
 */
final class TransportCounters {
    static final int MESSAGES_SENT = 0;
    static final int BYTES_SENT = 1;
    static final int MESSAGES_RECEIVED = 2;
    static final int BYTES_RECEIVED = 3;
    static final int BACK_PRESSURED = 4;
    static final int ADMIN_ACTIONS = 5;
    static final int OFFER_FAILURES = 6;
    static final int TIMEOUTS = 7;
    static final int MALFORMED = 8;
    static final int STALE_REPLIES = 9;
    static final int DUPLICATE_CHUNKS = 10;
    static final int CHUNK_GAPS = 11;
    static final int ERROR_REPLIES = 12;
    private static final int COUNT = 13;

    private final AtomicLongArray values = new AtomicLongArray(COUNT);

    void increment(int counter) {
        values.setRelease(counter, values.getPlain(counter) + 1);
    }

    void add(int counter, long delta) {
        values.setRelease(counter, values.getPlain(counter) + delta);
    }

    void sent(int bytes) {
        increment(MESSAGES_SENT);
        add(BYTES_SENT, bytes);
    }

    void received(int bytes) {
        increment(MESSAGES_RECEIVED);
        add(BYTES_RECEIVED, bytes);
    }

    long get(int counter) {
        return values.getAcquire(counter);
    }

    TransportStats snapshot() {
        return new TransportStats(get(MESSAGES_SENT), get(BYTES_SENT), get(MESSAGES_RECEIVED), get(BYTES_RECEIVED),
            get(BACK_PRESSURED), get(ADMIN_ACTIONS), get(OFFER_FAILURES), get(TIMEOUTS), get(MALFORMED),
            get(STALE_REPLIES), get(DUPLICATE_CHUNKS), get(CHUNK_GAPS), get(ERROR_REPLIES));
    }
}
