package magicpig.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code bench dataplane}: the echo round trips, then the data plane's share of a decode step, as markdown. */
class DataPlaneShareBenchTest {

    @Test
    void reportsTheRoundTripsAndTheirShareOfADecodeStepPerChannel() {
        MainTest.Run r = MainTest.run("bench", "dataplane", "--iterations", "100", "--warmup", "20", "--idle", "backoff",
                "--context", "300", "--steps", "3", "--block-tokens", "64", "--lsh-k", "6", "--lsh-l", "20");
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals("| channel | p50 us | p99 us | msgs/s |", lines[0]);
        assertTrue(r.err().contains("context 300 (232 offloaded in 4 blocks over 2 shards), K=6 L=20"), r.err());
        int header = java.util.Arrays.asList(lines).indexOf("| attention | decode step ms | sparse layers | round trip per layer p50 us | p99 us "
                + "| round trips per step ms | share of step | waiting per step ms | share of step | shard compute per step ms |");
        assertTrue(header > 0, r.out());
        String number = " [0-9.]+ \\|";
        String remote = " 4 \\|" + number + number + number + " [0-9]+% \\|" + number + " [0-9]+% \\|" + number;
        assertTrue(lines[header + 2].matches("\\| ipc \\|" + number + remote), lines[header + 2]);
        assertTrue(lines[header + 3].matches("\\| udp loopback \\|" + number + remote), lines[header + 3]);
        assertTrue(lines[header + 4].matches("\\| in process \\|" + number + " 4 \\|( - \\|){7}"), lines[header + 4]);
    }

    @Test
    void stepsZeroSkipsTheDecodeAndBadValuesAreUsageErrors() {
        MainTest.Run r = MainTest.run("bench", "dataplane", "--iterations", "50", "--warmup", "0", "--idle", "backoff", "--channel", "ipc",
                "--steps", "0");
        assertEquals(0, r.status(), r.err());
        assertEquals(3, r.out().strip().split("\n").length, r.out());
        MainTest.Run bad = MainTest.run("bench", "dataplane", "--iterations", "50", "--warmup", "0", "--channel", "ipc", "--block-tokens", "0");
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("--block-tokens"), bad.err());
    }
}
