package magicpig.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import magicpig.transport.AeronDataPlane;
import magicpig.transport.ShardLink;
import magicpig.transport.WorkerEndpoint;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.Test;

/** A cpu-attention node's shards: as many as configured, the budget split, each reachable on IPC and UDP. */
class AttentionShardsTest {

    @Test
    void aNodeStartsItsShardsWithTheBudgetSplitAndBothChannels() throws Exception {
        var magicpig = ConfigFactory.parseString("""
            shard.count = 3
            shard.memory-budget = 96MiB
            aeron.dir = ""
            aeron.port = 0
            """);
        ActorTestKit kit = ActorTestKit.create(ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
        AeronDataPlane plane = AeronDataPlane.launchEmbedded(AttentionShards.dataPlaneSettings(magicpig));
        String dir = plane.aeronDirectoryName();
        try {
            kit.spawn(Behaviors.setup(ctx -> {
                AttentionShards.start(ctx, magicpig, plane);
                return Behaviors.empty();
            }), "node");
            TestProbe<Receptionist.Listing> listing = kit.createTestProbe();
            List<ActorRef<AttentionShard.Command>> shards = new ArrayList<>();
            listing.awaitAssert(Duration.ofSeconds(3), () -> {
                kit.system().receptionist().tell(Receptionist.find(AttentionShard.KEY, listing.getRef()));
                Set<ActorRef<AttentionShard.Command>> found = listing.receiveMessage().getServiceInstances(AttentionShard.KEY);
                assertEquals(3, found.size());
                shards.clear();
                shards.addAll(found);
                return null;
            });
            TestProbe<AttentionShard.ShardStats> probe = kit.createTestProbe();
            List<AttentionShard.ShardStats> stats = new ArrayList<>();
            for (var shard : shards) {
                shard.tell(new AttentionShard.GetStats(probe.getRef()));
                stats.add(probe.receiveMessage());
            }
            assertEquals(3, stats.stream().map(s -> s.address().streamId()).distinct().count(), "a stream each");
            WorkerEndpoint worker = plane.newWorker("w", "aeron:ipc", 2001);
            for (var s : stats) {
                assertEquals(32L << 20, s.budgetBytes());
                assertEquals("aeron:ipc", s.address().ipcChannel());
                assertTrue(s.address().udpChannel().startsWith("aeron:udp?endpoint=127.0.0.1:"), s.address().udpChannel());
                assertEquals(dir, s.address().aeronDirectory());
                assertEquals("aeron:ipc", s.address().channelFor(worker.aeronDirectoryName()), "a worker on this driver uses IPC");
                assertNotEquals("aeron:ipc", s.address().channelFor("/dev/shm/elsewhere"));
                // both channels answer
                ShardLink ipc = worker.connect(s.address().ipcChannel(), s.address().streamId());
                ShardLink udp = worker.connect(s.address().udpChannel(), s.address().streamId());
                assertEquals(s.name(), ipc.name());
                assertEquals(s.name(), udp.name());
            }
        } finally {
            kit.shutdownTestKit();
            plane.close();
        }
        assertFalse(Files.exists(Path.of(dir)));
    }
}
