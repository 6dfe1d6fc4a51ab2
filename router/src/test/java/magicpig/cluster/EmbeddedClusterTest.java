package magicpig.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import magicpig.model.Generation;
import magicpig.sampling.SamplingSettings;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;
import magicpig.worker.TransformerWorker;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The embedded default: every role in one JVM. */
class EmbeddedClusterTest {
    static ClusterNode node;

    @BeforeAll
    static void start() throws Exception {
        node = ClusterNode.start(ConfigFactory.parseString("""
                pekko.remote.artery.canonical.port = 0
                magicpig.model = "synthetic:tiny"
                """));
        // start returns before the worker's registration has reached the receptionist (and the node's
        // attention shards start beside it), so under load the first sequence could find no worker
        for (int i = 0; i < 600 && workersUp() == 0; i++) Thread.sleep(50);
    }

    static int workersUp() throws Exception {
        Receptionist.Listing listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(node.system().receptionist(),
                r -> Receptionist.find(TransformerWorker.KEY, r), java.time.Duration.ofSeconds(3), node.system().scheduler())
                .toCompletableFuture().get(5, TimeUnit.SECONDS);
        return listing.getServiceInstances(TransformerWorker.KEY).size();
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) node.close();
    }

    static GenerationRequest greedy(String id, int[] prompt, int maxTokens) {
        return new GenerationRequest(id, prompt, maxTokens, SamplingSettings.GREEDY, Map.of("attention", "dense"));
    }

    @Test
    void clusterGenerationMatchesInProcessGeneration() throws Exception {
        int[] prompt = node.model().encode("The cluster speaks");
        int[] expected = Generation.run(node.model(), prompt, 20, SamplingSettings.GREEDY, null, t -> true).tokens();
        List<Integer> got = new ArrayList<>();
        var h = node.client().generate(greedy("parity-1", prompt, 20), e -> {
            if (e instanceof SequenceEvent.Token t) got.add(t.token());
        });
        SequenceEvent last = h.done().toCompletableFuture().get(60, TimeUnit.SECONDS);
        SequenceEvent.Finished f = assertInstanceOf(SequenceEvent.Finished.class, last, String.valueOf(last));
        assertEquals("length", f.reason());
        assertArrayEquals(expected, got.stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void concurrentSequencesAllCompleteWithTheirOwnTokens() throws Exception {
        int n = 6;
        List<List<Integer>> outs = new ArrayList<>();
        List<SequenceClient.Handle> handles = new ArrayList<>();
        int[][] prompts = new int[n][];
        for (int i = 0; i < n; i++) {
            prompts[i] = node.model().encode("sequence number " + i);
            List<Integer> out = java.util.Collections.synchronizedList(new ArrayList<>());
            outs.add(out);
            handles.add(node.client().generate(greedy("batch-" + i, prompts[i], 12), e -> {
                if (e instanceof SequenceEvent.Token t) out.add(t.token());
            }));
        }
        for (int i = 0; i < n; i++) {
            assertInstanceOf(SequenceEvent.Finished.class, handles.get(i).done().toCompletableFuture().get(60, TimeUnit.SECONDS));
            int[] expected = Generation.run(node.model(), prompts[i], 12, SamplingSettings.GREEDY, null, t -> true).tokens();
            assertArrayEquals(expected, outs.get(i).stream().mapToInt(Integer::intValue).toArray(), "sequence " + i);
        }
    }

    @Test
    void badRequestFailsClearly() throws Exception {
        var h = node.client().generate(greedy("bad-1", new int[0], 5), e -> {});
        SequenceEvent.Failed f = assertInstanceOf(SequenceEvent.Failed.class, h.done().toCompletableFuture().get(30, TimeUnit.SECONDS));
        assertEquals(true, f.error().contains("prompt of 0 tokens"), f.error());
    }
}
