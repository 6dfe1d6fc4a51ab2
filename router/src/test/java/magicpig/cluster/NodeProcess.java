package magicpig.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A cluster node in its own JVM on 127.0.0.1, for multi-process tests. Killed or stopped by the test. */
final class NodeProcess implements AutoCloseable {
    private final Process process;
    /** Prefix of the node's Aeron directory: a killed JVM cannot delete its own, so we do. */
    private final String aeronPrefix;
    private final CompletableFuture<String> up = new CompletableFuture<>();
    private final StringBuilder log = new StringBuilder();

    private NodeProcess(Process process, String aeronPrefix) {
        this.process = process;
        this.aeronPrefix = aeronPrefix;
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (log) {
                        log.append(line).append('\n');
                    }
                    if (line.startsWith("NODE UP ")) up.complete(line.substring(8));
                }
            } catch (IOException ignored) {
                // process gone
            }
            up.completeExceptionally(new IllegalStateException("node exited before it was up:\n" + log()));
        }, "node-output");
        reader.setDaemon(true);
        reader.start();
    }

    static NodeProcess start(String... settings) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Xmx1g", "-XX:+UseSerialGC", "-Dmagicpig.threads=1", "-cp", System.getProperty("java.class.path"),
                NodeMain.class.getName()));
        String aeronPrefix = Path.of(System.getProperty("java.io.tmpdir").equals("/tmp") && java.nio.file.Files.isDirectory(Path.of("/dev/shm"))
                ? "/dev/shm" : System.getProperty("java.io.tmpdir"), "magicpig-test-" + java.util.UUID.randomUUID().toString().substring(0, 8)).toString();
        cmd.add("magicpig.aeron.dir = \"" + aeronPrefix + "\"");
        cmd.addAll(List.of(settings));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        NodeProcess p = new NodeProcess(pb.start(), aeronPrefix);
        p.up.get(90, TimeUnit.SECONDS);
        return p;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The node's cluster address, as it printed it (pekko://magicpig@HOST:PORT). */
    String address() {
        return up.join();
    }

    String log() {
        synchronized (log) {
            return log.toString();
        }
    }

    /** Kills the JVM at once, as a crash would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        deleteAeronDirectories();
    }

    private void deleteAeronDirectories() {
        Path prefix = Path.of(aeronPrefix);
        try (var entries = java.nio.file.Files.list(prefix.getParent())) {
            for (Path dir : entries.filter(d -> d.getFileName().toString().startsWith(prefix.getFileName().toString())).toList()) {
                try (var walk = java.nio.file.Files.walk(dir)) {
                    for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) java.nio.file.Files.deleteIfExists(f);
                }
            }
        } catch (IOException ignored) {
            // best effort: nothing to clean
        }
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.getOutputStream().close(); // asks the node to stop
            if (!process.waitFor(20, TimeUnit.SECONDS)) kill();
        }
        deleteAeronDirectories();
    }
}
