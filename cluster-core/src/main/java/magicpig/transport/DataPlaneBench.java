package magicpig.transport;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import magicpig.wire.AttentionQuery;
import magicpig.wire.PartialStates;
import org.HdrHistogram.Histogram;

/**
 * {@code magicpig bench dataplane}: round-trip time of one decode-step query (32 heads x 128 dims,
 * K = 10, L = 150 by default: 26 KB) and its reply (17 KB), over IPC and over UDP on the loopback.
 * Each round trip encodes the query heads, sends, waits for the reply and reads it, one at a time
 * (or {@code --window W} queries in flight). The shard runs in the same JVM on its own thread,
 * with an embedded media driver per channel, unless {@code --connect} points at a shard started
 * elsewhere with {@code --server-only}.
 *
 * <pre>
 *   bench dataplane [--channel ipc|udp|both] [--iterations N] [--warmup N] [--window W]
 *                   [--heads H] [--head-dim D] [--lsh-k K] [--lsh-l L]
 *                   [--idle busy|yielding|backoff] [--mtu BYTES] [--ipc-mtu BYTES]
 *                   [--socket-buffer BYTES] [--aeron-dir DIR]
 *   bench dataplane --server-only --listen HOST:PORT [--seconds S]
 *   bench dataplane --connect HOST:PORT [--reply HOST:PORT] [--connect-timeout-ms MS] ...
 * </pre>
 *
 * Prints a markdown table {@code | channel | p50 us | p99 us | msgs/s |}, msgs/s being query/reply
 * round trips completed per second.
 */
public final class DataPlaneBench {
    private static final int SHARD_STREAM = 1001;
    private static final int WORKER_STREAM = 1002;
    private static final Set<String> VALUED = Set.of("channel", "iterations", "warmup", "window", "heads", "head-dim",
        "lsh-k", "lsh-l", "idle", "mtu", "ipc-mtu", "socket-buffer", "aeron-dir", "listen", "seconds", "connect", "reply",
        "connect-timeout-ms");
    private static final Set<String> SWITCHES = Set.of("server-only", "help");

    private DataPlaneBench() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the benchmark; returns the process exit code (0 ok, 1 failure, 2 usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, String> flags;
        try {
            flags = parse(args);
            if (flags.containsKey("help")) {
                out.println(usage());
                return 0;
            }
            if (flags.containsKey("server-only")) {
                return serve(flags, err);
            }
            return measureAll(flags, out, err);
        } catch (IllegalArgumentException e) {
            err.println("bench dataplane: " + e.getMessage());
            err.println(usage());
            return 2;
        } catch (DataPlaneException e) {
            err.println("bench dataplane: " + e.getMessage());
            return 1;
        }
    }

    private static String usage() {
        return """
            usage: bench dataplane [--channel ipc|udp|both] [--iterations N] [--warmup N] [--window W]
                                   [--heads H] [--head-dim D] [--lsh-k K] [--lsh-l L]
                                   [--idle busy|yielding|backoff] [--mtu BYTES] [--ipc-mtu BYTES]
                                   [--socket-buffer BYTES] [--aeron-dir DIR]
                   bench dataplane --server-only --listen HOST:PORT [--seconds S] [--idle ...]
                   bench dataplane --connect HOST:PORT [--reply HOST:PORT] [--connect-timeout-ms MS] [...]""";
    }

    private record Shape(int heads, int headDim, int k, int l) {}

    private record Result(String channel, double p50us, double p99us, double roundTripsPerSecond) {}

    private static int measureAll(Map<String, String> flags, PrintStream out, PrintStream err) {
        int iterations = intFlag(flags, "iterations", 20_000, 1);
        int warmup = intFlag(flags, "warmup", 5_000, 0);
        int window = intFlag(flags, "window", 1, 1);
        var shape = new Shape(intFlag(flags, "heads", 32, 1), intFlag(flags, "head-dim", 128, 1),
            intFlag(flags, "lsh-k", 10, 1), intFlag(flags, "lsh-l", 150, 1));
        if (shape.k() > AttentionQuery.MAX_K) {
            throw new IllegalArgumentException("--lsh-k must be at most " + AttentionQuery.MAX_K);
        }
        DataPlaneSettings settings = settings(flags);
        long queryBytes = AttentionQuery.messageLength(shape.heads(), shape.headDim(), shape.l(), AttentionQuery.ALL_BLOCKS);
        long replyBytes = PartialStates.messageLength(shape.heads(), shape.headDim());
        err.printf(Locale.ROOT, "query %d heads x %d dims, K=%d, L=%d: %d bytes; reply %d bytes; %d round trips "
                + "(+%d warm-up), window %d, idle %s%n", shape.heads(), shape.headDim(), shape.k(), shape.l(), queryBytes,
            replyBytes, iterations, warmup, window, settings.shardIdle().name().toLowerCase(Locale.ROOT));

        List<Result> results = new ArrayList<>();
        if (flags.containsKey("connect")) {
            String reply = flags.getOrDefault("reply", "127.0.0.1:" + freeUdpPort());
            results.add(measure("udp " + flags.get("connect") + " (remote shard)", settings, udp(flags.get("connect")),
                udp(reply), false, shape, iterations, warmup, window, err));
        } else {
            String channel = flags.getOrDefault("channel", "both");
            if (!Set.of("ipc", "udp", "both").contains(channel)) {
                throw new IllegalArgumentException("--channel must be ipc, udp or both");
            }
            if (!channel.equals("udp")) {
                results.add(measure("ipc", settings, "aeron:ipc", "aeron:ipc", true, shape, iterations, warmup, window,
                    err));
            }
            if (!channel.equals("ipc")) {
                results.add(measure("udp loopback", settings, udp("127.0.0.1:" + freeUdpPort()),
                    udp("127.0.0.1:" + freeUdpPort()), true, shape, iterations, warmup, window, err));
            }
        }
        out.println("| channel | p50 us | p99 us | msgs/s |");
        out.println("|---|---|---|---|");
        for (Result r : results) {
            out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.0f |%n", r.channel(), r.p50us(), r.p99us(),
                r.roundTripsPerSecond());
        }
        return 0;
    }

    private static Result measure(String label, DataPlaneSettings settings, String shardChannel, String workerChannel,
                                  boolean localShard, Shape shape, int iterations, int warmup, int window,
                                  PrintStream err) {
        try (AeronDataPlane plane = open(settings)) {
            if (localShard) {
                plane.start(plane.newShard("bench-shard", shardChannel, SHARD_STREAM, new EchoShard()));
            }
            WorkerEndpoint worker = plane.newWorker("bench-worker", workerChannel, WORKER_STREAM);
            ShardLink shard = worker.connect(shardChannel, SHARD_STREAM);
            err.printf(Locale.ROOT, "%s: connected to %s%n", label, shard);

            var random = new Random(42);
            float[] q = new float[shape.heads() * shape.headDim()];
            int[] codes = new int[shape.heads() * shape.l()];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) random.nextGaussian();
            }
            for (int i = 0; i < codes.length; i++) {
                codes[i] = random.nextInt(1 << shape.k());
            }
            double[] merged = new double[1];
            ReplyHandler merge = (link, reply) -> {
                for (int h = 0; h < reply.headCount(); h++) {
                    merged[0] += reply.l(h) + reply.o(h, 0);
                }
            };
            var histogram = new Histogram(60_000_000_000L, 3);
            long start = 0;
            for (int i = -warmup; i < iterations; i++) {
                if (i == 0) {
                    start = System.nanoTime();
                }
                long t0 = System.nanoTime();
                AttentionQuery.Encoder query = worker.newQuery(1, i & 31, i, shape.heads(), shape.headDim(), shape.k(),
                    shape.l());
                for (int h = 0; h < shape.heads(); h++) {
                    query.kvHead(h, h / 4).query(h, q, h * shape.headDim()).codes(h, codes, h * shape.l());
                }
                for (int w = 0; w < window; w++) {
                    worker.send(shard, query);
                }
                worker.awaitReplies(merge);
                if (i >= 0) {
                    histogram.recordValue(System.nanoTime() - t0);
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            err.printf(Locale.ROOT, "%s: driver counters %s%n", label, driverCounters(plane));
            TransportStats stats = worker.stats();
            err.printf(Locale.ROOT, "%s: %d round trips in %.2f s, back-pressure events %d, bytes sent %d, received %d"
                    + " (checksum %.1f)%n", label, iterations, seconds, stats.backPressureEvents(), stats.bytesSent(),
                stats.bytesReceived(), merged[0]);
            return new Result(label + (window > 1 ? " (window " + window + ")" : ""),
                histogram.getValueAtPercentile(50) / 1e3, histogram.getValueAtPercentile(99) / 1e3,
                (double) iterations * window / seconds);
        }
    }

    /** The media driver's counters that tell of loss and flow control (NAKs, retransmits, short sends...). */
    private static String driverCounters(AeronDataPlane plane) {
        var text = new StringBuilder();
        var counters = plane.aeron().countersReader();
        counters.forEach((counterId, typeId, keyBuffer, label) -> {
            if (typeId == io.aeron.AeronCounters.DRIVER_SYSTEM_COUNTER_TYPE_ID
                && (label.startsWith("NAKs") || label.startsWith("Retransmit") || label.startsWith("Short sends")
                || label.startsWith("Flow control") || label.startsWith("Loss gap"))) {
                text.append(text.isEmpty() ? "" : ", ").append(label).append(" = ").append(counters.getCounterValue(counterId));
            }
        });
        return text.toString();
    }

    /** Runs a shard on {@code --listen} until {@code --seconds} pass (forever without it). */
    private static int serve(Map<String, String> flags, PrintStream err) {
        String listen = flags.get("listen");
        if (listen == null) {
            throw new IllegalArgumentException("--server-only needs --listen HOST:PORT");
        }
        int seconds = intFlag(flags, "seconds", 0, 0);
        DataPlaneSettings settings = settings(flags);
        try (AeronDataPlane plane = open(settings)) {
            ShardEndpoint shard = plane.newShard("bench-shard@" + listen, udp(listen), SHARD_STREAM, new EchoShard());
            plane.start(shard);
            err.printf("serving bench queries on %s stream %d%s%n", udp(listen), SHARD_STREAM,
                seconds > 0 ? " for " + seconds + " s" : " until interrupted");
            long end = seconds > 0 ? System.nanoTime() + seconds * 1_000_000_000L : Long.MAX_VALUE;
            while (System.nanoTime() - end < 0) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            err.println("served: " + shard.stats());
        }
        return 0;
    }

    /** An external driver when --aeron-dir names one, else an embedded driver of our own. */
    private static AeronDataPlane open(DataPlaneSettings settings) {
        return settings.aeronDirectoryName() != null ? AeronDataPlane.connect(settings)
            : AeronDataPlane.launchEmbedded(settings);
    }

    private static DataPlaneSettings settings(Map<String, String> flags) {
        IdlePolicy idle = switch (flags.getOrDefault("idle", "yielding")) {
            case "busy" -> IdlePolicy.BUSY_SPIN;
            case "yielding" -> IdlePolicy.YIELDING;
            case "backoff" -> IdlePolicy.BACKOFF;
            default -> throw new IllegalArgumentException("--idle must be busy, yielding or backoff");
        };
        DataPlaneSettings defaults = DataPlaneSettings.defaults();
        return defaults.withIdle(idle).withMtuLength(intFlag(flags, "mtu", 0, 0))
            .withIpcMtuLength(intFlag(flags, "ipc-mtu", defaults.ipcMtuLength(), 0))
            .withSocketBufferLength(intFlag(flags, "socket-buffer", defaults.socketBufferLength(), 0))
            .withAeronDirectoryName(flags.get("aeron-dir")).withReplyTimeout(Duration.ofSeconds(5))
            .withConnectTimeout(Duration.ofMillis(intFlag(flags, "connect-timeout-ms", 5_000, 1)));
    }

    /** A shard whose reply costs next to nothing to compute but has the full size: o = the query. */
    private static final class EchoShard implements ShardHandler {
        @Override
        public void onQuery(AttentionQuery.Decoder query, PartialStates.Encoder reply) {
            int dim = query.headDim();
            for (int h = 0; h < query.headCount(); h++) {
                reply.state(h, 0f, 1, query.code(h, 0));
                for (int i = 0; i < dim; i++) {
                    reply.o(h, i, query.query(h, i));
                }
            }
        }
    }

    private static String udp(String hostPort) {
        if (!hostPort.matches("[^:]+:\\d+")) {
            throw new IllegalArgumentException("expected HOST:PORT, got '" + hostPort + "'");
        }
        return "aeron:udp?endpoint=" + hostPort;
    }

    private static int freeUdpPort() {
        try (var socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> flags = new HashMap<>();
        int i = 0;
        // Tolerate being handed the CLI's own words ("bench dataplane ...").
        while (i < args.length && !args[i].startsWith("--")) {
            i++;
        }
        for (; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'");
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (SWITCHES.contains(name)) {
                flags.put(name, "true");
            } else if (VALUED.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("--" + name + " needs a value");
                    }
                    value = args[++i];
                }
                flags.put(name, value);
            } else {
                throw new IllegalArgumentException("unknown flag --" + name);
            }
        }
        return flags;
    }

    private static int intFlag(Map<String, String> flags, String name, int fallback, int min) {
        String value = flags.get(name);
        if (value == null) {
            return fallback;
        }
        int parsed;
        try {
            parsed = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be an integer, got '" + value + "'");
        }
        if (parsed < min) {
            throw new IllegalArgumentException("--" + name + " must be at least " + min);
        }
        return parsed;
    }
}
