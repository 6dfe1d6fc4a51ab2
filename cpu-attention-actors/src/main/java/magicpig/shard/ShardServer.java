package magicpig.shard;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import magicpig.metrics.NodeMetrics;
import magicpig.metrics.ShardMetrics;
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
        return start(plane, address, budgetBytes, NodeMetrics.OFF);
    }

    /**
     * As {@link #start(AeronDataPlane, ShardAddress, long)}, publishing the shard's meters in
     * {@code metrics} under its short name (the part of its name before '@', e.g. shard-0).
     */
    public static ShardServer start(AeronDataPlane plane, ShardAddress address, long budgetBytes, NodeMetrics metrics) {
        var store = new ShardStore(address.shardName(), budgetBytes);
        var service = new ShardService(store);
        if (metrics.enabled()) {
            String id = address.shardName().contains("@") ? address.shardName().substring(0, address.shardName().indexOf('@'))
                : address.shardName();
            ShardMetrics m = metrics.shard(id, store, budgetBytes, ShardStore::blocks, ShardStore::usedBytes);
            store.metrics(m);
            service.metrics(m);
        }
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
        TransportStats sum = TransportStats.ZERO;
        for (ShardEndpoint e : endpoints) sum = sum.plus(e.stats());
        return sum;
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
