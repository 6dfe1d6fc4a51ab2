package magicpig.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import magicpig.model.Generation;
import magicpig.model.Model;
import magicpig.model.ModelLoader;
import magicpig.sampling.SamplingSettings;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;
import org.junit.jupiter.api.Test;

/** A gateway in this JVM and a transformer worker in another: every message crosses the wire as CBOR. */
class MultiJvmWorkerTest {

    @Test
    void remoteWorkerGeneratesTheSameTokensAndItsDeathFailsTheSequenceFast() throws Exception {
        int seedPort = NodeProcess.freePort();
        String seed = "pekko.cluster.seed-nodes = [\"pekko://magicpig@127.0.0.1:" + seedPort + "\"]";
        try (ClusterNode gateway = ClusterNode.start(ConfigFactory.parseString(seed + "\n"
                + "pekko.remote.artery.canonical.port = " + seedPort + "\nmagicpig.roles = [gateway]\nmagicpig.http.port = 0"));
             NodeProcess worker = NodeProcess.start(seed, "pekko.remote.artery.canonical.port = 0",
                     "magicpig.roles = [gpu-worker]", "magicpig.model = \"synthetic:tiny\"");
             Model local = ModelLoader.load("synthetic:tiny", ModelLoader.Options.DEFAULT)) {
            int[] prompt = local.encode("over the wire");
            int[] expected = Generation.run(local, prompt, 16, SamplingSettings.GREEDY, null, t -> true).tokens();
            SequenceClient client = gateway.client();
            // The worker registers with the receptionist once it has joined; retry until it is seen.
            SequenceEvent last = null;
            List<Integer> got = new ArrayList<>();
            for (int attempt = 0; attempt < 60; attempt++) {
                got.clear();
                var h = client.generate(new GenerationRequest("remote-" + attempt, prompt, 16, SamplingSettings.GREEDY,
                        Map.of("attention", "dense")), e -> {
                            if (e instanceof SequenceEvent.Token t) got.add(t.token());
                        });
                last = h.done().toCompletableFuture().get(60, TimeUnit.SECONDS);
                if (last instanceof SequenceEvent.Finished) break;
                Thread.sleep(500);
            }
            assertInstanceOf(SequenceEvent.Finished.class, last, String.valueOf(last) + "\n" + worker.log());
            assertArrayEquals(expected, got.stream().mapToInt(Integer::intValue).toArray());

            // Kill the worker in the middle of a long generation: the sequence fails fast, with a clear reason.
            CountDownLatch started = new CountDownLatch(5);
            var h = client.generate(new GenerationRequest("doomed", prompt, 4000, SamplingSettings.GREEDY, Map.of()), e -> {
                if (e instanceof SequenceEvent.Token) started.countDown();
            });
            assertTrue(started.await(60, TimeUnit.SECONDS), "tokens flow before the kill");
            long t0 = System.nanoTime();
            worker.kill();
            SequenceEvent end = h.done().toCompletableFuture().get(60, TimeUnit.SECONDS);
            SequenceEvent.Failed f = assertInstanceOf(SequenceEvent.Failed.class, end, String.valueOf(end));
            assertTrue(f.error().contains("left the cluster"), f.error());
            System.err.printf("worker death detected and the sequence failed after %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
    }
}
