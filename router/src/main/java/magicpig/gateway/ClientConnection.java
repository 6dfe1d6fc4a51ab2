package magicpig.gateway;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One client's HTTP connection, as the requests on it see it: what is running when the client hangs
 * up is told so. A run registers while it lasts and leaves when it ends, so a long-lived keep-alive
 * connection holds only what runs now.
 */
final class ClientConnection {
    private final Set<Runnable> running = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** The client hung up: stop everything still running for it. */
    void closed() {
        closed = true;
        for (Runnable r : running) {
            if (running.remove(r)) r.run();
        }
    }

    /** Runs onHangUp when the connection closes (at once if it already has), unless left first. */
    void join(Runnable onHangUp) {
        running.add(onHangUp);
        if (closed && running.remove(onHangUp)) onHangUp.run();
    }

    void leave(Runnable onHangUp) {
        running.remove(onHangUp);
    }
}
