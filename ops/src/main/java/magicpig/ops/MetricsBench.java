package magicpig.ops;

import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import magicpig.attention.eval.BenchStats;
import magicpig.cluster.ClusterNode;
import magicpig.cluster.SequenceClient;
import magicpig.sampling.SamplingSettings;
import magicpig.tensor.Parallel;
import magicpig.worker.GenerationRequest;
import magicpig.worker.SequenceEvent;

/**
 * {@code magicpig bench metrics}: what the metrics cost decode throughput. Two embedded nodes run
 * in this JVM, one with metrics off and one with metrics on; each round runs the same decode
 * workload (N sequences batched on the node's worker, through the cluster's sequence entities) on
 * both. While the metrics-on node runs, a client reads its {@code /dashboard/events} and scrapes its
 * {@code /metrics} every second.
 *
 * <p>Two ways to pair the runs ({@code --mode}):
 * <ul>
 *   <li>{@code concurrent} (default): both nodes run their workload at the same time, and each one's
 *       decode tokens/s is counted over the interval where both were decoding. Whatever else loads
 *       the machine then hits both runs alike, which is what makes the ratio measurable on a shared
 *       machine. The engine's compute pool ({@link Parallel}) is one per JVM and goes to whichever
 *       caller takes it first, which would favour one node; so this mode runs in a JVM of its own
 *       with {@code -Dmagicpig.threads=1} (started for it when needed), where each node computes on
 *       its own thread and the operating system shares the cores between them fairly: the node
 *       that spends more CPU per token decodes fewer.
 *   <li>{@code alternate}: one node after the other, the order swapped every round; each run has
 *       the machine to itself (the other node idles), so the rates are the real ones, but the
 *       machine's own drift between two runs enters the ratio. Also reports the process's CPU time
 *       per decoded token of each run.
 * </ul>
 * Reports the ratio on/off per round, the median over the rounds and the ratio of the sums.
 * {@code --control} runs the concurrent rounds with metrics off on both nodes: the ratio it reports
 * is the harness's own bias between its two nodes.
 */
final class MetricsBench {
    private MetricsBench() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags f = Flags.parse(args, 2, Set.of("model", "dtype", "sequences", "tokens", "prompt-tokens", "rounds", "attention", "mode"),
                Set.of("control"));
        String model = f.get("model", "synthetic:tiny");
        String dtype = f.get("dtype", "f32");
        String attention = f.get("attention", "magicpig");
        int n = f.getInt("sequences", 4), tokens = f.getInt("tokens", 1024), promptTokens = f.getInt("prompt-tokens", 512);
        int rounds = f.getInt("rounds", 12);
        if (n < 1 || tokens < 8 || promptTokens < 1 || rounds < 1) {
            throw new UsageException("--sequences >= 1, --tokens >= 8, --prompt-tokens >= 1, --rounds >= 1");
        }
        if (!attention.equals("dense") && !attention.equals("magicpig")) throw new UsageException("--attention dense|magicpig");
        String mode = f.get("mode", "concurrent");
        boolean control = f.has("control");
        if (control && !mode.equals("concurrent")) throw new UsageException("--control goes with --mode concurrent");
        if (!mode.equals("concurrent") && !mode.equals("alternate")) throw new UsageException("--mode concurrent|alternate");
        if (mode.equals("concurrent") && Parallel.threads() != 1) return reexecWithOneComputeThread(args, err);
        err.printf(Locale.ROOT, "%s (%s), %s attention, %d sequences x %d tokens after a %d-token prompt, %d %s rounds%n",
                model, dtype, attention, n, tokens, promptTokens, rounds, mode);
        try (ClusterNode off = start(false, model, dtype, attention, n)) {
            try (ClusterNode on = start(!control, model, dtype, attention, n)) {
                err.println("warm-up runs (not counted): the JIT compiles both nodes' code first");
                run(off, false, "warm", n, tokens, promptTokens, err);
                run(on, !control, "warm", n, tokens, promptTokens, err);
                double[][] rates = new double[rounds][2], cpu = new double[rounds][2];
                int counted = 0;
                for (int r = 0; r < rounds; r++) {
                    if (mode.equals("concurrent")) {
                        double[] both = together(off, on, !control, "round " + (r + 1), n, tokens, promptTokens, err);
                        if (both != null) rates[counted++] = both;
                        continue;
                    }
                    for (boolean metrics : r % 2 == 0 ? new boolean[] {false, true} : new boolean[] {true, false}) {
                        Result res = run(metrics ? on : off, metrics, "round " + (r + 1), n, tokens, promptTokens, err);
                        rates[r][metrics ? 1 : 0] = res.tokensPerSecond();
                        cpu[r][metrics ? 1 : 0] = res.cpuMsPerToken();
                    }
                }
                if (mode.equals("concurrent")) {
                    if (counted == 0) throw new IllegalStateException("no round had the two runs decoding together for a second; use more --tokens");
                    rates = Arrays.copyOf(rates, counted);
                }
                if (control) out.println("control: both nodes have metrics off (the harness's own bias between its two nodes)");
                report(rates, mode.equals("alternate") ? cpu : null, out);
            }
        }
        return 0;
    }

    /** Runs this bench again in a new JVM with -Dmagicpig.threads=1 (the same JVM flags and class path); returns its status. */
    private static int reexecWithOneComputeThread(String[] args, PrintStream err) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) if (!a.startsWith("-Dmagicpig.threads=")) cmd.add(a);
        cmd.add("-Dmagicpig.threads=1");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        err.println("concurrent mode: running in a new JVM with one compute thread per node (-Dmagicpig.threads=1)");
        return new ProcessBuilder(cmd).inheritIO().start().waitFor();
    }

    private static void report(double[][] rates, double[][] cpuOrNull, PrintStream out) {
        boolean withCpu = cpuOrNull != null;
        double[][] cpu = cpuOrNull;
        if (!withCpu) {
            cpu = new double[rates.length][];
            for (int r = 0; r < rates.length; r++) cpu[r] = new double[] {1, 1};
        }
        out.printf(Locale.ROOT, "| round | off tok/s | on + dashboard tok/s | on / off |%s%n|---|---|---|---|%s%n",
                withCpu ? " off CPU ms/token | on CPU ms/token | on / off |" : "", withCpu ? "---|---|---|" : "");
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
            out.printf(Locale.ROOT, "| %d | %.2f | %.2f | %.4f |%s%n", r + 1, rates[r][0], rates[r][1], ratios[r],
                    withCpu ? String.format(Locale.ROOT, " %.3f | %.3f | %.4f |", cpu[r][0], cpu[r][1], cpuRatios[r]) : "");
        }
        out.printf(Locale.ROOT, "| mean | %.2f | %.2f | %.4f |%s%n", offSum / k, onSum / k, onSum / offSum,
                withCpu ? String.format(Locale.ROOT, " %.3f | %.3f | %.4f |", offCpu / k, onCpu / k, onCpu / offCpu) : "");
        double median = BenchStats.median(ratios), cpuMedian = BenchStats.median(cpuRatios);
        Arrays.sort(ratios); // for the range printed below
        Arrays.sort(cpuRatios);
        out.printf(Locale.ROOT, "%ndecode throughput on/off: median of rounds %.4f, over all rounds %.4f (rounds %.4f-%.4f)%n",
                median, onSum / offSum, ratios[0], ratios[k - 1]);
        if (withCpu) {
            out.printf(Locale.ROOT, "CPU time per token on/off: median of rounds %.4f, over all rounds %.4f (rounds %.4f-%.4f)%n",
                    cpuMedian, onCpu / offCpu, cpuRatios[0], cpuRatios[k - 1]);
        }
        out.printf(Locale.ROOT, "metrics cost %.2f %% of decode throughput (1 - median ratio; negative = faster with metrics, i.e. noise)%n",
                100 * (1 - median));
    }

    /**
     * One run: decode tokens per second of wall time, milliseconds of this process's CPU per decoded
     * token, and when each decoded token came (System.nanoTime), from {@code decodeStart} (every
     * sequence had its first token) to {@code end} (the last finished).
     */
    private record Result(double tokensPerSecond, double cpuMsPerToken, long decodeStart, long end, long[] arrivals, int count) {
        /** Decode tokens per second over [from, to). */
        double rate(long from, long to) {
            int c = 0;
            for (int i = 0; i < count; i++) if (arrivals[i] >= from && arrivals[i] < to) c++;
            return to <= from ? 0 : c / ((to - from) / 1e9);
        }
    }

    /**
     * Both workloads at once, each from a thread of its own released together; returns {off, on}
     * decode tokens/s over the interval where both were decoding, or null (the round is not counted)
     * when that was under a second.
     */
    private static double[] together(ClusterNode off, ClusterNode on, boolean dashboardOn, String label, int n, int tokens, int promptTokens,
                                     PrintStream err) throws Exception {
        Dashboard dashboard = dashboardOn ? Dashboard.open(on.httpPort()) : null;
        try {
            CountDownLatch go = new CountDownLatch(1);
            CompletableFuture<Result> offRun = workloadOnItsOwnThread(off, go, label + " off", n, tokens, promptTokens);
            CompletableFuture<Result> onRun = workloadOnItsOwnThread(on, go, label + " on", n, tokens, promptTokens);
            go.countDown();
            Result a = offRun.get(30, TimeUnit.MINUTES), b = onRun.get(30, TimeUnit.MINUTES);
            if (dashboard != null && dashboard.events() == 0) throw new IllegalStateException("the dashboard client received no event");
            long from = Math.max(a.decodeStart(), b.decodeStart()), to = Math.min(a.end(), b.end());
            if (to - from < 1_000_000_000L) {
                err.printf(Locale.ROOT, "%s: the two runs decoded together for only %.0f ms; not counted%n", label, Math.max(0, to - from) / 1e6);
                return null;
            }
            double offRate = a.rate(from, to), onRate = b.rate(from, to);
            err.printf(Locale.ROOT, "%s, together for %.1f s: %.2f and %.2f decode tok/s%s%n", label, (to - from) / 1e9, offRate, onRate,
                    dashboard == null ? "" : " (" + dashboard.events() + " dashboard events, " + dashboard.scrapes() + " scrapes read)");
            return new double[] {offRate, onRate};
        } finally {
            if (dashboard != null) dashboard.close();
        }
    }

    private static CompletableFuture<Result> workloadOnItsOwnThread(ClusterNode node, CountDownLatch go, String label, int n, int tokens,
                                                                    int promptTokens) {
        CompletableFuture<Result> result = new CompletableFuture<>();
        Thread.ofPlatform().name("bench " + label).start(() -> {
            try {
                go.await();
                result.complete(workload(node.client(), label.replace(' ', '-') + "-" + System.nanoTime(), n, tokens, promptTokens,
                        node.model().config().vocabSize()));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

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
            if (err != null) {
                err.printf(Locale.ROOT, "%s, metrics %s: %.2f decode tok/s, %.3f CPU ms/token%s%n", label, metrics ? "on " : "off",
                        r.tokensPerSecond(), r.cpuMsPerToken(),
                        dashboard == null ? "" : " (" + dashboard.events() + " dashboard events, " + dashboard.scrapes() + " scrapes read)");
            }
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
        long[] arrivals = new long[n * tokens];
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
                    long at = afterStart.getAndIncrement();
                    if (at < arrivals.length) arrivals[(int) at] = System.nanoTime();
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
        int count = (int) Math.min(afterStart.get(), arrivals.length);
        return new Result(afterStart.get() / ((end - allStarted.get()) / 1e9), cpu / 1e6 / afterStart.get(), allStarted.get(), end,
                arrivals, count);
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
