package magicpig.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DataPlaneBenchTest {

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = DataPlaneBench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printsAMarkdownRowPerChannel() {
        Run run = run("bench", "dataplane", "--iterations", "200", "--warmup", "50", "--idle", "backoff");
        assertEquals(0, run.code(), run.err());
        String[] lines = run.out().strip().split("\n");
        assertEquals("| channel | p50 us | p99 us | msgs/s |", lines[0]);
        assertEquals("|---|---|---|---|", lines[1]);
        assertEquals(4, lines.length, run.out());
        assertTrue(lines[2].matches("\\| ipc \\| [0-9.]+ \\| [0-9.]+ \\| [0-9]+ \\|"), lines[2]);
        assertTrue(lines[3].matches("\\| udp loopback \\| [0-9.]+ \\| [0-9.]+ \\| [0-9]+ \\|"), lines[3]);
        assertTrue(run.err().contains("26160 bytes; reply 33320 bytes"), run.err());
    }

    @Test
    void badFlagsAreAUsageError() {
        Run run = run("--channel", "carrier-pigeon");
        assertEquals(2, run.code());
        assertTrue(run.err().contains("--channel must be ipc, udp or both"), run.err());
        assertEquals(2, run("--iterations", "zero").code());
        assertEquals(2, run("--frobnicate").code());
        assertEquals(2, run("--server-only").code());
    }

    @Test
    void aServerOnlyProcessAndAConnectingClientEachWithTheirOwnDriver() throws Exception {
        int port = TestShards.freeUdpPort();
        var server = new ByteArrayOutputStream();
        var serverThread = Thread.ofPlatform().start(() -> DataPlaneBench.run(
            new String[] {"--server-only", "--listen", "127.0.0.1:" + port, "--seconds", "3", "--idle", "backoff"},
            new PrintStream(new ByteArrayOutputStream()), new PrintStream(server, true, StandardCharsets.UTF_8)));
        Run client = run("--connect", "127.0.0.1:" + port, "--iterations", "300", "--warmup", "50",
            "--idle", "backoff", "--heads", "8");
        assertEquals(0, client.code(), client.err());
        assertTrue(client.out().contains("| udp 127.0.0.1:" + port + " (remote shard) |"), client.out());
        serverThread.join(10_000);
        String served = server.toString(StandardCharsets.UTF_8);
        assertTrue(served.contains("serving bench queries on aeron:udp?endpoint=127.0.0.1:" + port), served);
        assertTrue(served.contains("messagesReceived=351"), served);
    }

    @Test
    void connectingToNoServerFailsWithTheAddress() {
        int port = TestShards.freeUdpPort();
        // UDP has no connection refusal: the publication never connects, so the handshake times out.
        Run run = run("--connect", "127.0.0.1:" + port, "--iterations", "10", "--warmup", "0",
            "--connect-timeout-ms", "300");
        assertEquals(1, run.code());
        assertTrue(run.err().contains("no shard is listening on aeron:udp?endpoint=127.0.0.1:" + port), run.err());
    }
}
