package magicpig.ops;

import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import magicpig.cluster.ClusterNode;
import magicpig.cluster.SequenceClient;
import magicpig.sampling.SamplingSettings;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;

/**
 * {@code magicpig bench metrics}: what the metrics cost decode throughput. Two embedded nodes run
 * in this JVM, one with metrics off and one with metrics on; the same decode workload (N sequences
 * batched on the node's worker, through the cluster's sequence entities) runs on one, then the
 * other, alternating the order round by round, so that the machine's drift hits both alike. While
 * the metrics-on node runs, a client reads its {@code /dashboard/events} and scrapes its
 * {@code /metrics} every second. Reports decode tokens/s of every run, the ratio on/off per round,
 * their median and the ratio over all rounds; and, as a figure that other load on the machine
 * disturbs less, the process's CPU time per decoded token in each run and its ratio. The idle node
 * waits between its runs (its duty cycles back off), the same for both.
 */
final class MetricsBench {
    private MetricsBench() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags f = Flags.parse(args, 2, Set.of("model", "dtype", "sequences", "tokens", "prompt-tokens", "rounds", "attention"), Set.of());
        String model = f.get("model", "synthetic:tiny");
        String dtype = f.get("dtype", "f32");
        String attention = f.get("attention", "magicpig");
        int n = f.getInt("sequences", 4), tokens = f.getInt("tokens", 128), promptTokens = f.getInt("prompt-tokens", 512);
        int rounds = f.getInt("rounds", 10);
        if (n < 1 || tokens < 8 || promptTokens < 1 || rounds < 1) {
            throw new UsageException("--sequences >= 1, --tokens >= 8, --prompt-tokens >= 1, --rounds >= 1");
        }
        if (!attention.equals("dense") && !attention.equals("magicpig")) throw new UsageException("--attention dense|magicpig");
        err.printf(Locale.ROOT, "%s (%s), %s attention, %d sequences x %d tokens after a %d-token prompt, %d rounds%n",
                model, dtype, attention, n, tokens, promptTokens, rounds);
        try (ClusterNode off = start(false, model, dtype, attention, n)) {
            try (ClusterNode on = start(true, model, dtype, attention, n)) {
                err.println("warm-up runs (not counted): the JIT compiles both nodes' code first");
                run(off, false, "warm", n, tokens, promptTokens, err);
                run(on, true, "warm", n, tokens, promptTokens, err);
                double[][] rates = new double[rounds][2], cpu = new double[rounds][2];
                for (int r = 0; r < rounds; r++) {
                    for (boolean metrics : r % 2 == 0 ? new boolean[] {false, true} : new boolean[] {true, false}) {
                        Result res = run(metrics ? on : off, metrics, "round " + (r + 1), n, tokens, promptTokens, err);
                        rates[r][metrics ? 1 : 0] = res.tokensPerSecond();
                        cpu[r][metrics ? 1 : 0] = res.cpuMsPerToken();
                    }
                }
                report(rates, cpu, out);
            }
        }
        return 0;
    }

    private static void report(double[][] rates, double[][] cpu, PrintStream out) {
        out.printf(Locale.ROOT, "| round | off tok/s | on + dashboard tok/s | on / off | off CPU ms/token | on CPU ms/token | on / off |%n"
                + "|---|---|---|---|---|---|---|%n");
        int k = rates.length;
        double[] ratios = new double[k], cpuRatios = new double[k];
        double offSum = 0, onSum = 0, offCpu = 0, onCpu = 0;
        for (int r = 0; r < k; r++) {
            ratios[r] = rates[r][1] / rates[r][0];
            cpuRatios[r] = cpu[r][1] / cpu[r][0];
            offSum += rates[r][0];
            onSum += rates[r][1];
            offCpu += cpu[r][0];
            onCpu += cpu[r][1];
            out.printf(Locale.ROOT, "| %d | %.2f | %.2f | %.4f | %.3f | %.3f | %.4f |%n", r + 1, rates[r][0], rates[r][1], ratios[r],
                    cpu[r][0], cpu[r][1], cpuRatios[r]);
        }
        out.printf(Locale.ROOT, "| mean | %.2f | %.2f | %.4f | %.3f | %.3f | %.4f |%n", offSum / k, onSum / k, onSum / offSum,
                offCpu / k, onCpu / k, onCpu / offCpu);
        double median = median(ratios), cpuMedian = median(cpuRatios);
        out.printf(Locale.ROOT, "%ndecode throughput on/off: median of rounds %.4f, over all rounds %.4f (rounds %.4f-%.4f)%n",
                median, onSum / offSum, ratios[0], ratios[k - 1]);
        out.printf(Locale.ROOT, "CPU time per token on/off: median of rounds %.4f, over all rounds %.4f (rounds %.4f-%.4f)%n",
                cpuMedian, onCpu / offCpu, cpuRatios[0], cpuRatios[k - 1]);
        out.printf(Locale.ROOT, "metrics cost %.2f %% of decode throughput (median; negative = faster with metrics, i.e. noise) "
                + "and %.2f %% more CPU per token%n", 100 * (1 - median), 100 * (cpuMedian - 1));
    }

    /** Sorts a and returns its median. */
    private static double median(double[] a) {
        Arrays.sort(a);
        int k = a.length;
        return k % 2 == 1 ? a[k / 2] : (a[k / 2 - 1] + a[k / 2]) / 2;
    }

    /** One run: decode tokens per second of wall time, and milliseconds of this process's CPU per decoded token. */
    private record Result(double tokensPerSecond, double cpuMsPerToken) {}

    private static ClusterNode start(boolean metrics, String model, String dtype, String attention, int n) throws Exception {
        Map<String, Object> settings = new HashMap<>();
        settings.put("magicpig.model", model);
        settings.put("magicpig.model-dtype", dtype);
        settings.put("magicpig.worker.max-batch", n);
        settings.put("magicpig.worker.prefill-chunk", 256);
        settings.put("magicpig.attention.mode", attention);
        settings.put("magicpig.metrics.enabled", metrics);
        settings.put("magicpig.http.port", 0);
        settings.put("pekko.remote.artery.canonical.port", 0);
        settings.put("pekko.loglevel", "WARNING");
        ClusterNode node = ClusterNode.start(ConfigFactory.parseMap(settings));
        for (int i = 0; i < 600 && node.gateway().workersUp() == 0; i++) Thread.sleep(50);
        return node;
    }

    /** One workload on one node (with the dashboard open when metrics are on). */
    private static Result run(ClusterNode node, boolean metrics, String label, int n, int tokens, int promptTokens, PrintStream err)
            throws Exception {
        Dashboard dashboard = metrics ? Dashboard.open(node.httpPort()) : null;
        try {
            Result r = workload(node.client(), label.replace(' ', '-') + "-" + metrics + "-" + System.nanoTime(), n, tokens, promptTokens,
                    node.model().config().vocabSize());
            err.printf(Locale.ROOT, "%s, metrics %s: %.2f decode tok/s, %.3f CPU ms/token%s%n", label, metrics ? "on " : "off",
                    r.tokensPerSecond(), r.cpuMsPerToken(),
                    dashboard == null ? "" : " (" + dashboard.events() + " dashboard events, " + dashboard.scrapes() + " scrapes read)");
            if (dashboard != null && dashboard.events() == 0) throw new IllegalStateException("the dashboard client received no event");
            return r;
        } finally {
            if (dashboard != null) dashboard.close();
        }
    }

    /**
     * n sequences submitted together; decode is counted from the moment every one has its first token
     * (prefill done) to the last token.
     */
    private static Result workload(SequenceClient client, String tag, int n, int tokens, int promptTokens, int vocab) throws Exception {
        AtomicInteger started = new AtomicInteger();
        AtomicLong allStarted = new AtomicLong(), afterStart = new AtomicLong(), cpuAtStart = new AtomicLong();
        List<SequenceClient.Handle> handles = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = new int[promptTokens];
            prompt[0] = 1;
            for (int j = 1; j < promptTokens; j++) prompt[j] = 3 + (i * 131 + j * 17) % (vocab - 3);
            handles.add(client.generate(new GenerationRequest(tag + "-" + i, prompt, tokens, SamplingSettings.GREEDY, Map.of()), e -> {
                if (!(e instanceof SequenceEvent.Token t)) return;
                if (t.index() == 0) {
                    if (started.incrementAndGet() == n) {
                        cpuAtStart.set(processCpuNanos());
                        allStarted.set(System.nanoTime());
                    }
                } else if (allStarted.get() != 0) {
                    afterStart.incrementAndGet();
                }
            }));
        }
        long end;
        for (var h : handles) {
            SequenceEvent e = h.done().toCompletableFuture().get(30, TimeUnit.MINUTES);
            if (!(e instanceof SequenceEvent.Finished)) throw new IllegalStateException("sequence " + h.sequenceId() + " failed: " + e);
        }
        end = System.nanoTime();
        long cpu = processCpuNanos() - cpuAtStart.get();
        return new Result(afterStart.get() / ((end - allStarted.get()) / 1e9), cpu / 1e6 / afterStart.get());
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** An observer: reads the dashboard's event stream and scrapes /metrics once a second, on threads of its own. */
    private static final class Dashboard implements AutoCloseable {
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        private final AtomicInteger events = new AtomicInteger(), scrapes = new AtomicInteger();
        private final Thread reader, scraper;
        private volatile InputStream stream;
        private volatile boolean closed;

        private Dashboard(int port) {
            reader = Thread.ofPlatform().daemon().name("bench-dashboard").start(() -> {
                try {
                    HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/dashboard/events"))
                            .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
                    stream = r.body();
                    BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8));
                    for (String line; !closed && (line = in.readLine()) != null; ) if (line.startsWith("data: ")) events.incrementAndGet();
                } catch (Exception e) {
                    if (!closed) System.err.println("dashboard client: " + e);
                }
            });
            scraper = Thread.ofPlatform().daemon().name("bench-scraper").start(() -> {
                while (!closed) {
                    try {
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).GET()
                                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200) scrapes.incrementAndGet();
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        if (!closed) System.err.println("scraper: " + e);
                    }
                }
            });
        }

        static Dashboard open(int port) {
            return new Dashboard(port);
        }

        int events() {
            return events.get();
        }

        int scrapes() {
            return scrapes.get();
        }

        @Override
        public void close() throws Exception {
            closed = true;
            scraper.interrupt();
            InputStream s = stream;
            if (s != null) s.close();
            reader.join(5000);
            scraper.join(5000);
        }
    }
}
