package magicpig.shard;

import java.util.concurrent.TimeUnit;
import magicpig.metrics.NodeMetrics;
import magicpig.transport.AeronDataPlane;
import magicpig.transport.ShardAddress;
import magicpig.wire.ClusterMessage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The control plane of one attention shard: reservations of memory for blocks, releases of a
 * sequence's blocks, statistics. The data itself (block transfers, queries, frees) goes over Aeron
 * to the shard's {@link ShardServer}, which this actor starts and stops with itself.
 *
 * <p>Placement (the sequence's owner) asks shards for room with {@link Reserve} and gets back the
 * shard's {@link ShardAddress} (its IPC and UDP channels and stream) in {@link Reserved}, or a
 * {@link Refused} with the reason; the worker then ships the block to that address. A shard
 * registers under {@link #KEY} with the receptionist so placement can find every shard in the
 * cluster. {@link Release} frees every block and reservation of a sequence at once.
 */
public final class AttentionShard extends AbstractBehavior<AttentionShard.Command> {
    public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "attention-shard");

    public sealed interface Command extends ClusterMessage {}

    /** Asks for {@code bytes} of room for one block ({@link ShardStore#blockBytes} computes them). */
    public record Reserve(long sequenceId, int blockId, long bytes, ActorRef<ReserveReply> replyTo) implements Command {}

    public sealed interface ReserveReply extends ClusterMessage {}

    /** The room is held; ship the block to {@code shard}. */
    public record Reserved(long sequenceId, int blockId, ShardAddress shard, long freeBytes) implements ReserveReply {}

    /** No room: {@code reason} says how much was asked and how much is free. */
    public record Refused(long sequenceId, int blockId, String shardName, String reason) implements ReserveReply {}

    /** Frees every block and reservation of a sequence; replyTo (may be null) hears when it is done. */
    public record Release(long sequenceId, ActorRef<Released> replyTo) implements Command {}

    public record Released(String shardName, long sequenceId, long freedBytes) implements ClusterMessage {}

    public record GetStats(ActorRef<ShardStats> replyTo) implements Command {}

    /**
     * @param usedBytes     held or reserved
     * @param reservedBytes reserved for data that has not come yet (part of usedBytes)
     * @param queries       sampled-attention queries answered
     * @param queryNanos    time spent computing them, in total
     * @param sampledKeys   keys sampled over all of them
     * @param transfers     block parts received
     * @param failures      requests answered with an error
     */
    public record ShardStats(String name, String node, ShardAddress address, long budgetBytes, long usedBytes,
                             long reservedBytes, int blocks, int sequences, long queries, long queryNanos, long sampledKeys,
                             long transfers, long failures, int connectedWorkers) implements ClusterMessage {}

    private record ReleaseDone(long sequenceId, long freedBytes, ActorRef<Released> replyTo) implements Command {}

    private final ShardServer server;

    /** A shard listening at {@code address} (its channels on this node's data plane) with a memory budget. */
    public static Behavior<Command> create(AeronDataPlane plane, ShardAddress address, long budgetBytes) {
        return create(plane, address, budgetBytes, NodeMetrics.OFF);
    }

    /** As {@link #create(AeronDataPlane, ShardAddress, long)}, with the shard's meters in {@code metrics}. */
    public static Behavior<Command> create(AeronDataPlane plane, ShardAddress address, long budgetBytes, NodeMetrics metrics) {
        return Behaviors.setup(ctx -> {
            ShardServer server = ShardServer.start(plane, address, budgetBytes, metrics);
            ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
            ctx.getLog().info("{} serves {} of memory", address, ShardMemory.bytes(budgetBytes));
            return new AttentionShard(ctx, server);
        });
    }

    private AttentionShard(ActorContext<Command> ctx, ShardServer server) {
        super(ctx);
        this.server = server;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
            .onMessage(Reserve.class, this::onReserve)
            .onMessage(Release.class, this::onRelease)
            .onMessage(ReleaseDone.class, m -> {
                if (m.replyTo() != null) m.replyTo().tell(new Released(server.name(), m.sequenceId(), m.freedBytes()));
                return this;
            })
            .onMessage(GetStats.class, m -> {
                m.replyTo().tell(stats());
                return this;
            })
            .onSignal(PostStop.class, s -> {
                server.close();
                return this;
            })
            .build();
    }

    private Behavior<Command> onReserve(Reserve m) {
        String refusal = server.store().reserve(m.sequenceId(), m.blockId(), m.bytes());
        if (refusal == null) {
            m.replyTo().tell(new Reserved(m.sequenceId(), m.blockId(), server.address(), server.store().freeBytes()));
        } else {
            m.replyTo().tell(new Refused(m.sequenceId(), m.blockId(), server.name(), refusal));
        }
        return this;
    }

    private Behavior<Command> onRelease(Release m) {
        getContext().pipeToSelf(server.service().release(m.sequenceId()).orTimeout(5, TimeUnit.SECONDS), (freed, error) -> {
            if (error != null) getContext().getLog().warn("{}: releasing sequence {} failed: {}", server.name(), m.sequenceId(), error.toString());
            return new ReleaseDone(m.sequenceId(), freed == null ? 0 : freed, m.replyTo());
        });
        return this;
    }

    private ShardStats stats() {
        ShardStore store = server.store();
        ShardService service = server.service();
        return new ShardStats(server.name(), server.address().node(), server.address(), store.budgetBytes(), store.usedBytes(),
            store.reservedAheadBytes(), store.blocks(), store.sequences(), service.queries(), service.queryNanos(),
            service.sampledKeys(), service.transfers(), service.failures(), server.connectedWorkers());
    }
}
