package magicpig.shard;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import magicpig.transport.AeronDataPlane;
import magicpig.transport.ShardAddress;
import magicpig.transport.ShardEndpoint;
import magicpig.transport.TransportStats;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentRunner;

/**
 * One running attention shard without the actor around it: its store and service, an endpoint on
 * each of its channels (one stream id), and the thread that runs them ({@link ShardAgent} under an
 * Agrona {@link AgentRunner}, with the data plane's shard idle strategy). The
 * {@link AttentionShard} actor owns one; tests use it directly.
 */
public final class ShardServer implements AutoCloseable {
    private final ShardService service;
    private final List<ShardEndpoint> endpoints;
    private final ShardAddress address;
    private final AgentRunner runner;
    private final AtomicLong errors = new AtomicLong();
    private volatile boolean closed;

    private ShardServer(ShardService service, List<ShardEndpoint> endpoints, ShardAddress address, AeronDataPlane plane) {
        this.service = service;
        this.endpoints = endpoints;
        this.address = address;
        var agent = new ShardAgent(service, endpoints.toArray(ShardEndpoint[]::new));
        this.runner = new AgentRunner(plane.settings().shardIdle().newIdleStrategy(), e -> {
            errors.incrementAndGet();
            System.err.println("[" + agent.roleName() + "] " + e);
        }, null, agent);
    }

    /**
     * Starts a shard named {@code name} with a memory budget, listening on stream {@code streamId} of
     * its address's IPC channel (if not null) and UDP channel (if not null).
     */
    public static ShardServer start(AeronDataPlane plane, ShardAddress address, long budgetBytes) {
        var service = new ShardService(new ShardStore(address.shardName(), budgetBytes));
        List<ShardEndpoint> endpoints = new ArrayList<>();
        try {
            for (String channel : new String[] {address.ipcChannel(), address.udpChannel()}) {
                if (channel != null) endpoints.add(plane.newShard(address.shardName(), channel, address.streamId(), service));
            }
            if (endpoints.isEmpty()) throw new IllegalArgumentException(address + " has no channel");
        } catch (RuntimeException e) {
            endpoints.forEach(CloseHelper::quietClose);
            throw e;
        }
        var server = new ShardServer(service, List.copyOf(endpoints), address, plane);
        AgentRunner.startOnThread(server.runner);
        return server;
    }

    /**
     * An address on this node's driver: {@code aeron:ipc} and, when {@code udpEndpoint} (HOST:PORT)
     * is not null, {@code aeron:udp?endpoint=HOST:PORT}, both on {@code streamId}.
     */
    public static ShardAddress address(AeronDataPlane plane, String name, String node, String udpEndpoint, int streamId) {
        return new ShardAddress(name, node, plane.aeronDirectoryName(), "aeron:ipc",
            udpEndpoint == null ? null : "aeron:udp?endpoint=" + udpEndpoint, streamId);
    }

    public ShardService service() {
        return service;
    }

    public ShardStore store() {
        return service.store();
    }

    public ShardAddress address() {
        return address;
    }

    public String name() {
        return address.shardName();
    }

    /** Workers connected, over every channel. */
    public int connectedWorkers() {
        int n = 0;
        for (ShardEndpoint e : endpoints) n += e.connectedWorkers();
        return n;
    }

    /** The transport counters of the endpoints, summed. */
    public TransportStats transportStats() {
        long[] s = new long[13];
        for (ShardEndpoint e : endpoints) {
            TransportStats t = e.stats();
            long[] v = {t.messagesSent(), t.bytesSent(), t.messagesReceived(), t.bytesReceived(), t.backPressureEvents(),
                t.adminActionEvents(), t.offerFailures(), t.timeouts(), t.malformedMessages(), t.staleReplies(),
                t.duplicateChunks(), t.chunkGaps(), t.errorReplies()};
            for (int i = 0; i < s.length; i++) s[i] += v[i];
        }
        return new TransportStats(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12]);
    }

    /** Errors the duty cycle reported. */
    public long errors() {
        return errors.get();
    }

    public boolean isClosed() {
        return closed;
    }

    /** Stops the duty cycle, closes the endpoints and frees every block. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        CloseHelper.quietClose(runner);
    }
}
