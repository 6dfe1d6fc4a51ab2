package magicpig.transport;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.agrona.CloseHelper;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentRunner;

/**
 * One process's handle on the Aeron data plane: an Aeron client, and the media driver it talks
 * to, either embedded in this JVM ({@link #launchEmbedded}, the default for one-node clusters and
 * tests) or an external one ({@link #connect}). It makes the {@link ShardEndpoint}s and
 * {@link WorkerEndpoint}s of this process, runs shard duty cycles on threads of their own, and
 * closes everything in order: duty cycles, endpoints, client, then the embedded driver, whose
 * directory is deleted.
 *
 * <p>Channels: {@code aeron:ipc} between endpoints that share a driver (one host), and
 * {@code aeron:udp?endpoint=HOST:PORT} between hosts, where the endpoint is the receiving side's
 * address (the shard's for queries, the worker's for replies).
 */
public final class AeronDataPlane implements AutoCloseable {
    private static final AtomicLong DIRECTORIES = new AtomicLong();

    private final DataPlaneSettings settings;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final String aeronDirectoryName;
    private final ErrorHandler errorHandler;
    private final AtomicLong errors = new AtomicLong();
    private final List<AgentRunner> runners = new ArrayList<>();
    private final List<AutoCloseable> endpoints = new ArrayList<>();
    private boolean closed;

    private AeronDataPlane(DataPlaneSettings settings, MediaDriver driver, String aeronDirectoryName) {
        this.settings = settings;
        this.driver = driver;
        this.aeronDirectoryName = aeronDirectoryName;
        this.errorHandler = error -> {
            errors.incrementAndGet();
            System.err.println("[data plane] " + error);
        };
        try {
            this.aeron = Aeron.connect(new Aeron.Context()
                .aeronDirectoryName(aeronDirectoryName)
                .errorHandler(errorHandler)
                .driverTimeoutMs(Math.max(1_000, settings.connectTimeout().toMillis())));
        } catch (RuntimeException e) {
            CloseHelper.quietClose(driver);
            throw new DataPlaneException("cannot connect to the media driver in " + aeronDirectoryName, e);
        }
    }

    /**
     * Starts a media driver in this JVM (in {@code settings.aeronDirectoryName()}, or a fresh
     * directory when that is null; deleted on start and on close) and connects to it.
     */
    public static AeronDataPlane launchEmbedded(DataPlaneSettings settings) {
        String directory = settings.aeronDirectoryName() != null ? settings.aeronDirectoryName()
            : freshDirectoryName();
        var context = new MediaDriver.Context()
            .aeronDirectoryName(directory)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .warnIfDirectoryExists(false)
            .threadingMode(settings.driverThreading())
            .publicationTermBufferLength(settings.termLength())
            .ipcTermBufferLength(settings.termLength())
            .conductorIdleStrategy(settings.driverIdle().newIdleStrategy())
            .senderIdleStrategy(settings.driverIdle().newIdleStrategy())
            .receiverIdleStrategy(settings.driverIdle().newIdleStrategy())
            .sharedNetworkIdleStrategy(settings.driverIdle().newIdleStrategy())
            .sharedIdleStrategy(settings.driverIdle().newIdleStrategy());
        // Aeron refuses a frame larger than a message may be (term length / 8).
        int maxMessage = settings.termLength() / 8;
        if (settings.mtuLength() != 0) {
            context.mtuLength(Math.min(settings.mtuLength(), maxMessage));
        }
        if (settings.ipcMtuLength() != 0) {
            context.ipcMtuLength(Math.min(settings.ipcMtuLength(), maxMessage));
        }
        if (settings.socketBufferLength() != 0) {
            context.socketRcvbufLength(settings.socketBufferLength())
                .socketSndbufLength(settings.socketBufferLength())
                .initialWindowLength(Math.min(settings.socketBufferLength(), settings.termLength() / 2));
        }
        MediaDriver driver;
        try {
            driver = MediaDriver.launchEmbedded(context);
        } catch (RuntimeException e) {
            context.close();
            throw new DataPlaneException("cannot start an embedded media driver in " + directory, e);
        }
        return new AeronDataPlane(settings, driver, driver.aeronDirectoryName());
    }

    /**
     * Connects to a media driver that runs outside this JVM, in
     * {@code settings.aeronDirectoryName()}; its own configuration (term length, MTU) applies.
     */
    public static AeronDataPlane connect(DataPlaneSettings settings) {
        if (settings.aeronDirectoryName() == null) {
            throw new IllegalArgumentException("connecting to an external media driver needs its aeronDirectoryName");
        }
        return new AeronDataPlane(settings, null, settings.aeronDirectoryName());
    }

    /** A directory name no other data plane uses: under /dev/shm where it exists (memory-backed). */
    static String freshDirectoryName() {
        Path shm = Path.of("/dev/shm");
        Path base = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        return base.resolve("magicpig-aeron-" + ProcessHandle.current().pid() + "-" + DIRECTORIES.incrementAndGet()
            + "-" + UUID.randomUUID().toString().substring(0, 8)).toString();
    }

    public DataPlaneSettings settings() {
        return settings;
    }

    public Aeron aeron() {
        return aeron;
    }

    public String aeronDirectoryName() {
        return aeronDirectoryName;
    }

    public boolean isEmbedded() {
        return driver != null;
    }

    /** Errors reported by Aeron or by endpoints' duty cycles so far (each is also printed to stderr). */
    public long errorCount() {
        return errors.get();
    }

    /**
     * The counters of every endpoint this data plane made, summed (since each was made; an endpoint
     * closed with the data plane stops counting). For the metrics; safe from any thread.
     */
    public synchronized TransportStats stats() {
        TransportStats sum = TransportStats.ZERO;
        for (AutoCloseable e : endpoints) {
            if (e instanceof ShardEndpoint s) sum = sum.plus(s.stats());
            else if (e instanceof WorkerEndpoint w) sum = sum.plus(w.stats());
        }
        return sum;
    }

    /** A shard endpoint subscribed on {@code channel} / {@code streamId}; drive it with {@link #start} or {@code doWork}. */
    public synchronized ShardEndpoint newShard(String name, String channel, int streamId, ShardHandler handler) {
        checkOpen();
        var shard = new ShardEndpoint(aeron, settings, name, channel, streamId, handler, errorHandler);
        endpoints.add(shard);
        return shard;
    }

    /** A worker endpoint whose replies come on {@code responseChannel} / {@code responseStreamId}. */
    public synchronized WorkerEndpoint newWorker(String name, String responseChannel, int responseStreamId) {
        checkOpen();
        var worker = new WorkerEndpoint(aeron, settings, name, responseChannel, responseStreamId);
        endpoints.add(worker);
        return worker;
    }

    /** Runs the shard's duty cycle on a thread of its own with the settings' shard idle strategy, until close. */
    public synchronized AgentRunner start(ShardEndpoint shard) {
        checkOpen();
        var runner = new AgentRunner(settings.shardIdle().newIdleStrategy(), errorHandler, null, shard);
        AgentRunner.startOnThread(runner);
        runners.add(runner);
        return runner;
    }

    /** Stops duty cycles, closes endpoints and the client, then stops an embedded driver and deletes its directory. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (AgentRunner runner : runners) {
            CloseHelper.quietClose(runner);
        }
        runners.clear();
        for (AutoCloseable endpoint : endpoints) {
            CloseHelper.quietClose(endpoint);
        }
        endpoints.clear();
        CloseHelper.quietClose(aeron);
        if (driver != null) {
            CloseHelper.quietClose(driver);
            // dirDeleteOnShutdown removes the directory; make sure of it even if the driver failed to.
            deleteRecursively(new File(aeronDirectoryName));
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the data plane is closed");
        }
    }

    private static void deleteRecursively(File file) {
        File[] children = file.listFiles();
        if (children != null) {
            for (File child : children) {
                deleteRecursively(child);
            }
        }
        file.delete();
    }
}
