package magicpig.ops;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import magicpig.attention.AttentionSettings;
import magicpig.attention.DenseLayers;
import magicpig.model.Attention;
import magicpig.model.ComputeBackend;
import magicpig.model.Model;
import magicpig.sampling.Sampler;
import magicpig.sampling.SamplingSettings;
import magicpig.shard.ShardServer;
import magicpig.transport.AeronDataPlane;
import magicpig.transport.DataPlaneSettings;
import magicpig.transport.WorkerEndpoint;
import magicpig.worker.remote.Placement;
import magicpig.worker.remote.RemoteMagicPigAttention;
import org.HdrHistogram.Histogram;

/**
 * The data plane's share of a decode step ({@code bench dataplane}, after the echo round trips): a
 * model decodes with MagicPIG whose offloaded prompt tokens sit on attention shards, over IPC (one
 * media driver) and over UDP on the loopback (the worker and the shards on two media drivers, as on
 * two hosts), and the same decode with MagicPIG in process for reference. The worker is
 * {@link RemoteMagicPigAttention}, as a transformer worker runs it, without the actors around it; the
 * shards are {@link ShardServer}s in this JVM.
 *
 * <p>Per sparse layer a step sends one query to each shard and merges their replies. Two times are
 * taken per layer: the <b>round trip</b>, from the queries sent to the last reply merged, during
 * which the worker also computes the exact static part, so it overlaps local work; and the
 * <b>wait</b>, the part of it the worker spent with nothing left to do but wait, which is what the
 * data plane adds to the step. Both are summed per step and set against the step's wall time. The
 * shards' own compute time (as their replies report it, summed over shards) says how much of the
 * round trip is sampling rather than transport; the echo table before it has the transport alone.
 */
final class DataPlaneShareBench {
    static final java.util.Set<String> VALUED = java.util.Set.of("model", "dtype", "context", "steps", "shards", "block-tokens");

    private DataPlaneShareBench() {}

    record Options(String model, String dtype, int context, int steps, int warmup, int shards, int blockTokens, int lshK, int lshL,
                   boolean ipc, boolean udp) {}

    private record Row(String channel, double stepMs, int sparseLayers, double rttP50us, double rttP99us, double rttPerStepMs,
                       double waitPerStepMs, double shardComputePerStepMs) {}

    static int run(Options o, PrintStream out, PrintStream err) throws Exception {
        if (o.context() < 2 || o.steps() < 1 || o.shards() < 1) throw new UsageException("--context >= 2, --steps >= 1, --shards >= 1");
        var spec = new magicpig.model.ModelLoader.Options(null, magicpig.tensor.GgmlType.parse(o.dtype()), 42L, 0);
        try (Model model = magicpig.model.ModelLoader.load(o.model(), spec)) {
            var c = model.config();
            if (o.context() + o.warmup() + o.steps() + 1 > c.contextLength()) {
                throw new UsageException("--context " + o.context() + " + " + (o.warmup() + o.steps()) + " steps exceeds the model's context of "
                        + c.contextLength());
            }
            AttentionSettings settings;
            try {
                settings = AttentionSettings.magicPig().withLsh(o.lshK(), o.lshL(), 2).withDenseLayers(DenseLayers.NONE)
                        .withBlockTokens(o.blockTokens()).withMaxStatic(o.context() + o.warmup() + o.steps() + 1).validate(c);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            int[] prompt = new int[o.context()];
            prompt[0] = 1;
            for (int i = 1; i < prompt.length; i++) prompt[i] = 3 + (int) ((i * 7919L) % (c.vocabSize() - 3));
            int offloaded = Placement.offloadedTokens(prompt.length, settings);
            int blocks = Placement.ranges(offloaded, o.blockTokens()).size();
            err.printf(Locale.ROOT, "%s: %d layers, %d heads x %d dims; context %d (%d offloaded in %d blocks over %d shards), K=%d L=%d, "
                    + "%d decode steps after %d warm-up%n", model.name(), c.layers(), c.heads(), c.headDim(), o.context(), offloaded, blocks,
                    o.shards(), o.lshK(), o.lshL(), o.steps(), o.warmup());
            // compile the forward pass and the sampler before anything is timed, so that the first row does not pay for it
            try (ComputeBackend.InferenceSession s = model.llama().newSession(prompt.length + 65, settings.factory().create(c))) {
                Sampler greedy = new Sampler(SamplingSettings.GREEDY, c.vocabSize());
                int token = greedy.sample(s.prefill(prompt));
                for (int i = 0; i < 64; i++) token = greedy.sample(s.decode(token));
            }
            List<Row> rows = new ArrayList<>();
            if (o.ipc()) rows.add(measure("ipc", model, settings, prompt, o, "ipc", err));
            if (o.udp()) rows.add(measure("udp loopback", model, settings, prompt, o, "udp", err));
            rows.add(measure("in process", model, settings, prompt, o, null, err));
            out.println();
            out.println("| attention | decode step ms | sparse layers | round trip per layer p50 us | p99 us | round trips per step ms "
                    + "| share of step | waiting per step ms | share of step | shard compute per step ms |");
            out.println("|---|---|---|---|---|---|---|---|---|---|");
            for (Row r : rows) {
                if (r.rttPerStepMs() < 0) {
                    out.printf(Locale.ROOT, "| %s | %.2f | %d | - | - | - | - | - | - | - |%n", r.channel(), r.stepMs(), r.sparseLayers());
                } else {
                    out.printf(Locale.ROOT, "| %s | %.2f | %d | %.0f | %.0f | %.2f | %.0f%% | %.2f | %.0f%% | %.2f |%n", r.channel(), r.stepMs(),
                            r.sparseLayers(), r.rttP50us(), r.rttP99us(), r.rttPerStepMs(), 100 * r.rttPerStepMs() / r.stepMs(),
                            r.waitPerStepMs(), 100 * r.waitPerStepMs() / r.stepMs(), r.shardComputePerStepMs());
                }
            }
        }
        return 0;
    }

    /** One decode run; {@code channel} null runs MagicPIG in process. */
    private static Row measure(String label, Model model, AttentionSettings settings, int[] prompt, Options o, String channel,
                               PrintStream err) {
        var c = model.config();
        AeronDataPlane shardPlane = null, workerPlane = null;
        List<ShardServer> shards = new ArrayList<>();
        try {
            Attention attention;
            RemoteMagicPigAttention remote = null;
            if (channel == null) {
                attention = settings.factory().create(c);
            } else {
                DataPlaneSettings dp = DataPlaneSettings.defaults().withReplyTimeout(Duration.ofSeconds(10));
                shardPlane = AeronDataPlane.launchEmbedded(dp);
                boolean udp = channel.equals("udp");
                workerPlane = udp ? AeronDataPlane.launchEmbedded(dp) : shardPlane;
                for (int s = 0; s < o.shards(); s++) {
                    shards.add(ShardServer.start(shardPlane, ShardServer.address(shardPlane, "bench-shard-" + s, "bench",
                            udp ? "127.0.0.1:" + freeUdpPort() : null, 1001 + s), 8L << 30));
                }
                WorkerEndpoint worker = workerPlane.newWorker("bench-worker", udp ? "aeron:udp?endpoint=127.0.0.1:" + freeUdpPort() : "aeron:ipc", 2001);
                List<Placement.Block> blocks = new ArrayList<>();
                for (int[] r : Placement.ranges(Placement.offloadedTokens(prompt.length, settings), o.blockTokens())) {
                    blocks.add(new Placement.Block(blocks.size(), r[0], r[1], shards.get(blocks.size() % shards.size()).address()));
                }
                attention = remote = new RemoteMagicPigAttention(c, settings, new Placement(1, blocks), worker, Duration.ofSeconds(60));
            }
            Histogram perLayer = new Histogram(60_000_000_000L, 3);
            long[] step = new long[2]; // round-trip and wait nanos of the current step
            boolean[] timing = new boolean[1];
            if (remote != null) {
                remote.roundTripListener((layer, rtt, wait) -> {
                    if (!timing[0]) return;
                    perLayer.recordValue(rtt);
                    step[0] += rtt;
                    step[1] += wait;
                });
            }
            Sampler sampler = new Sampler(SamplingSettings.GREEDY, c.vocabSize());
            try (ComputeBackend.InferenceSession session = model.llama().newSession(prompt.length + o.warmup() + o.steps() + 1, attention)) {
                long p0 = System.nanoTime();
                int token = sampler.sample(session.prefill(prompt));
                err.printf(Locale.ROOT, "%s: prefill%s %.1f s%n", label, remote == null ? "" : " and shipping the blocks", (System.nanoTime() - p0) / 1e9);
                for (int i = 0; i < o.warmup(); i++) token = sampler.sample(session.decode(token));
                timing[0] = true;
                long computeBefore = remote == null ? 0 : remote.shardComputeNanos();
                long stepNanos = 0, rttNanos = 0, waitNanos = 0;
                for (int i = 0; i < o.steps(); i++) {
                    step[0] = step[1] = 0;
                    long t0 = System.nanoTime();
                    float[] logits = session.decode(token);
                    stepNanos += System.nanoTime() - t0;
                    rttNanos += step[0];
                    waitNanos += step[1];
                    token = sampler.sample(logits);
                }
                int sparse = 0;
                for (int l = 0; l < c.layers(); l++) if (!settings.denseLayers().contains(l)) sparse++;
                double n = o.steps();
                if (remote == null) return new Row(label, stepNanos / n / 1e6, sparse, 0, 0, -1, -1, -1);
                return new Row(label, stepNanos / n / 1e6, sparse, perLayer.getValueAtPercentile(50) / 1e3,
                        perLayer.getValueAtPercentile(99) / 1e3, rttNanos / n / 1e6, waitNanos / n / 1e6,
                        (remote.shardComputeNanos() - computeBefore) / n / 1e6);
            }
        } finally {
            shards.forEach(ShardServer::close);
            if (workerPlane != null && workerPlane != shardPlane) workerPlane.close();
            if (shardPlane != null) shardPlane.close();
        }
    }

    private static int freeUdpPort() {
        try (var socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
