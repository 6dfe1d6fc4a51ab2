package magicpig.gateway;

import java.time.Duration;
import java.util.List;
import magicpig.cluster.ClusterNode;
import magicpig.model.Generation;
import magicpig.model.Model;
import magicpig.sampling.SamplingSettings;
import magicpig.worker.TransformerWorker;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/** What the gateway tests share: the expected text of a greedy generation, and the workers' load. */
final class GatewayTestSupport {
    private GatewayTestSupport() {}

    /** Greedy generation in this process, decoded the way the gateway decodes a stream. */
    record Expected(String text, String finishReason, int tokens) {}

    static Expected greedy(Model model, int[] prompt, int maxTokens) {
        Generation.Result r = Generation.run(model, prompt, maxTokens, SamplingSettings.GREEDY, null, t -> true);
        TextStream ts = new TextStream(model.tokenizer(), List.of(), prompt[prompt.length - 1]);
        StringBuilder b = new StringBuilder();
        for (int t : r.tokens()) b.append(ts.push(t));
        b.append(ts.finish());
        return new Expected(b.toString(), r.finishReason(), r.tokens().length);
    }

    /** Sequences the workers hold now (decoding or prefilling), asked of each worker. */
    static int sequencesOnWorkers(ClusterNode node) throws Exception {
        ActorSystem<Void> sys = node.system();
        Receptionist.Listing listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(sys.receptionist(),
                r -> Receptionist.find(TransformerWorker.KEY, r), Duration.ofSeconds(5), sys.scheduler()).toCompletableFuture().get();
        int n = 0;
        for (var w : listing.getServiceInstances(TransformerWorker.KEY)) {
            TransformerWorker.Load load = AskPattern.<TransformerWorker.Command, TransformerWorker.Load>ask(w,
                    TransformerWorker.GetLoad::new, Duration.ofSeconds(5), sys.scheduler()).toCompletableFuture().get();
            n += load.decoding() + load.prefilling();
        }
        return n;
    }

    /** Waits until the gateway sees a worker (the receptionist listing arrives shortly after start). */
    static void awaitReady(ClusterNode node) throws InterruptedException {
        for (int i = 0; i < 600 && node.gateway().workersUp() == 0; i++) Thread.sleep(50);
        if (node.gateway().workersUp() == 0) throw new AssertionError("no worker registered within 30 s");
    }

    static String quote(String s) {
        try {
            return HttpTestClient.JSON.writeValueAsString(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
