package magicpig.transport;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * How a duty cycle waits when it found no work. Idle strategies are stateful, so each loop gets
 * its own instance from {@link #newIdleStrategy()}.
 */
public enum IdlePolicy {
    /** Never gives the core up: the lowest latency, one core burnt per loop. For dedicated hosts. */
    BUSY_SPIN,
    /** Spins a little, then {@code Thread.yield()}: low latency while sharing cores with busy threads. */
    YIELDING,
    /**
     * Spins, yields, then parks from 1 us growing to 100 us: near-zero CPU when idle, a wake-up
     * delay of tens of microseconds after a long idle spell. The default, since a host may run
     * many shards.
     */
    BACKOFF;

    public IdleStrategy newIdleStrategy() {
        return switch (this) {
            case BUSY_SPIN -> new BusySpinIdleStrategy();
            case YIELDING -> new YieldingIdleStrategy();
            case BACKOFF -> new BackoffIdleStrategy(200, 100, 1_000, 100_000);
        };
    }
}
