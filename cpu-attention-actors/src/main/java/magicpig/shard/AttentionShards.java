package magicpig.shard;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.BiFunction;
import magicpig.metrics.NodeMetrics;
import magicpig.transport.AeronDataPlane;
import magicpig.transport.DataPlaneSettings;
import magicpig.transport.ShardAddress;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * Starts the attention shards of a {@code cpu-attention} node: {@code magicpig.shard.count} shards
 * splitting {@code magicpig.shard.memory-budget} evenly. Each listens on one stream
 * ({@value #FIRST_STREAM_ID} + its index) of two channels of the node's media driver:
 * {@code aeron:ipc}, for a worker on the same driver, and {@code aeron:udp?endpoint=HOST:PORT}, for
 * any other, where HOST is the node's cluster host and PORT is {@code magicpig.aeron.port}, or the
 * Artery port + 1000 when that is 0 (a free port when Artery's is chosen at random too). Both are
 * advertised in the shard's {@link ShardAddress}; {@link ShardAddress#channelFor} picks.
 */
public final class AttentionShards {
    /** Stream id of the first shard of a node; shard i listens on this + i. */
    public static final int FIRST_STREAM_ID = 1001;

    private AttentionShards() {}

    /** Spawns the node's shards as children of ctx; returns them. */
    public static List<ActorRef<AttentionShard.Command>> start(ActorContext<?> ctx, Config magicpig, AeronDataPlane plane) {
        return start(ctx, magicpig, plane, NodeMetrics.OFF, (name, b) -> b, Props.empty());
    }

    /**
     * Spawns the node's shards as children of ctx, each with its meters in {@code metrics}, its
     * behavior passed through {@code instrument} (with the shard's short name, e.g. shard-0) and
     * spawned with {@code props}; returns them.
     */
    public static List<ActorRef<AttentionShard.Command>> start(ActorContext<?> ctx, Config magicpig, AeronDataPlane plane,
            NodeMetrics metrics, BiFunction<String, Behavior<AttentionShard.Command>, Behavior<AttentionShard.Command>> instrument,
            Props props) {
        int count = magicpig.getInt("shard.count");
        if (count < 1) throw new IllegalArgumentException("magicpig.shard.count must be at least 1, got " + count);
        long budget = magicpig.getMemorySize("shard.memory-budget").toBytes() / count;
        Address self = ctx.getSystem().address();
        String host = self.getHost().orElse("127.0.0.1");
        String node = self.hostPort();
        int port = udpPort(magicpig, ctx.getSystem().settings().config(), self);
        List<ActorRef<AttentionShard.Command>> shards = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String name = "shard-" + i + "@" + host + ":" + self.getPort().orElse(0);
            ShardAddress address = ShardServer.address(plane, name, node, host + ":" + port, FIRST_STREAM_ID + i);
            shards.add(ctx.spawn(instrument.apply("shard-" + i, AttentionShard.create(plane, address, budget, metrics)),
                "attention-shard-" + i, props));
        }
        return shards;
    }

    /** The data plane settings of a node: its media driver directory made unique from {@code magicpig.aeron.dir}. */
    public static DataPlaneSettings dataPlaneSettings(Config magicpig) {
        String dir = magicpig.hasPath("aeron.dir") ? magicpig.getString("aeron.dir") : "";
        DataPlaneSettings s = DataPlaneSettings.defaults();
        if (dir.isBlank()) return s; // a fresh directory under /dev/shm
        return s.withAeronDirectoryName(dir + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8));
    }

    static int udpPort(Config magicpig, Config full, Address self) {
        int configured = magicpig.hasPath("aeron.port") ? magicpig.getInt("aeron.port") : 0;
        if (configured > 0) return configured;
        int artery = full.hasPath("pekko.remote.artery.canonical.port") ? full.getInt("pekko.remote.artery.canonical.port") : 0;
        if (artery > 0 && artery + 1000 <= 65535) return artery + 1000;
        try (var socket = new DatagramSocket(0, InetAddress.getByName(self.getHost().orElse("127.0.0.1")))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free UDP port for the attention shards' data plane", e);
        }
    }
}
