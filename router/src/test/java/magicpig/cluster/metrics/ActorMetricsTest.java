package magicpig.cluster.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import magicpig.cluster.ClusterNode;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The interceptor counts and times messages, the counting mailbox shows what waits, and snapshots cross the wire. */
class ActorMetricsTest {
    static ActorTestKit kit;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create("metrics", ConfigFactory.parseString("""
                pekko.actor.provider = local
                magicpig.metrics.enabled = on
                """).withFallback(ConfigFactory.parseResources(ClusterNode.DEFAULTS)).resolve());
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void mailboxDepthShowsTheMessagesWaitingBehindABusyActor() throws Exception {
        ActorMetrics actors = MetricsExtension.get(kit.system()).actors();
        CountDownLatch busy = new CountDownLatch(1), release = new CountDownLatch(1), done = new CountDownLatch(5);
        Behavior<String> slow = Behaviors.receiveMessage(m -> {
            if (m.equals("first")) {
                busy.countDown();
                release.await(30, TimeUnit.SECONDS);
            }
            done.countDown();
            return Behaviors.same();
        });
        ActorRef<String> ref = kit.spawn(actors.instrument("Slow", "slow-0", slow), "slow", actors.props());
        ref.tell("first");
        assertTrue(busy.await(30, TimeUnit.SECONDS));
        for (int i = 0; i < 4; i++) ref.tell("next");
        ActorMetrics.Meters m = actors.meters("Slow", "slow-0");
        for (int i = 0; i < 100 && m.depth() < 4; i++) Thread.sleep(10);
        assertEquals(4, m.depth(), "four messages wait behind the one being handled");
        release.countDown();
        assertTrue(done.await(30, TimeUnit.SECONDS));
        for (int i = 0; i < 100 && (m.depth() > 0 || m.timer().count() < 5); i++) Thread.sleep(10);
        assertEquals(0, m.depth());
        assertEquals(5, m.timer().count(), "every message was timed");
        assertTrue(m.timer().max(TimeUnit.NANOSECONDS) > 0);
        String scrape = MetricsExtension.get(kit.system()).node().scrape();
        assertTrue(scrape.contains("magicpig_actor_mailbox_depth{instance=\"slow-0\",node=\"metrics\",type=\"Slow\"} 0"), scrape);
        assertTrue(scrape.contains("magicpig_actor_messages_total{instance=\"slow-0\",node=\"metrics\",type=\"Slow\"} 5"), scrape);
        kit.stop(ref);
    }

    @Test
    void manyActorsOfATypeShareTheirSeriesAndMailboxesLeaveWithThem() throws Exception {
        ActorMetrics actors = MetricsExtension.get(kit.system()).actors();
        CountDownLatch release = new CountDownLatch(1), busy = new CountDownLatch(3);
        Behavior<String> blocking = Behaviors.receiveMessage(msg -> {
            busy.countDown();
            release.await(30, TimeUnit.SECONDS);
            return Behaviors.stopped();
        });
        for (int i = 0; i < 3; i++) {
            ActorRef<String> r = kit.spawn(actors.instrument("Many", ActorMetrics.ALL, blocking), "many-" + i, actors.props());
            r.tell("a");
            r.tell("b");
        }
        assertTrue(busy.await(30, TimeUnit.SECONDS));
        ActorMetrics.Meters m = actors.meters("Many", ActorMetrics.ALL);
        for (int i = 0; i < 100 && m.depth() < 3; i++) Thread.sleep(10);
        assertEquals(3, m.depth(), "one message waits in each of the three mailboxes");
        release.countDown();
        for (int i = 0; i < 300 && m.depth() > 0; i++) Thread.sleep(10);
        assertEquals(0, m.depth(), "stopped actors' mailboxes no longer count");
    }

    @Test
    void aSnapshotSurvivesCborAsItTravelsBetweenNodes() throws Exception {
        NodeSnapshot s = new NodeSnapshot("127.0.0.1:25520", 1234L,
                List.of(new DashboardState.ActorView("TransformerWorker", "worker", 12.5, 1234, 0.1, null, 3)),
                List.of(new DashboardState.ShardView("shard-0", 3, 123456, 4L << 30)), 999, 77, 10.5, 1, 2, 3, 10,
                new long[] {0, 5}, new long[] {0, 100}, java.util.Arrays.asList(null, 0.05), new long[] {1, 2}, new long[] {3});
        Serialization serialization = SerializationExtension.get(kit.system().classicSystem());
        var serializer = serialization.findSerializerFor(s);
        assertEquals("JacksonCborSerializer", serializer.getClass().getSimpleName(), "cluster messages travel as CBOR");
        byte[] bytes = serializer.toBinary(s);
        assertTrue(bytes.length < 600, "compact: " + bytes.length + " bytes");
        NodeSnapshot back = (NodeSnapshot) serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, s)).get();
        assertEquals(s.address(), back.address());
        assertEquals(s.actors(), back.actors());
        assertEquals(s.shards(), back.shards());
        assertEquals(s.lastFraction(), back.lastFraction());
        assertArrayEquals(s.offloadedKeys(), back.offloadedKeys());
        assertArrayEquals(s.ttft(), back.ttft());
        assertEquals(s.tokensPerSec(), back.tokensPerSec());
    }
}
