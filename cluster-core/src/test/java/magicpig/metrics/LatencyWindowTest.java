package magicpig.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LatencyWindowTest {
    @Test
    void bucketsAreSixPerDecade() {
        double[] b = Buckets.series(1e-3, 1);
        assertEquals(19, b.length);
        assertEquals(1e-3, b[0]);
        assertEquals(1.5e-3, b[1]);
        assertEquals(7e-1, b[17]);
        assertEquals(1.0, b[18]);
    }

    @Test
    void quantilesInterpolateInsideTheirBucketLikeHistogramQuantile() {
        double[] bounds = {1, 2, 5};
        // 10 events in (0,1], 10 in (1,2], none in (2,5], none above
        assertEquals(1.0, LatencyWindow.quantile(bounds, new long[] {10, 10, 0, 0}, 0.5), 1e-9);
        assertEquals(1.5, LatencyWindow.quantile(bounds, new long[] {10, 10, 0, 0}, 0.75), 1e-9);
        assertEquals(5.0, LatencyWindow.quantile(bounds, new long[] {0, 0, 0, 3}, 0.5), 1e-9, "above every bound: the last bound");
        assertTrue(Double.isNaN(LatencyWindow.quantile(bounds, new long[4], 0.5)));
    }

    @Test
    void theWindowForgetsWhatIsOlderThanItsTicks() {
        NodeMetrics m = NodeMetrics.create("n", true);
        Timer t = NodeMetrics.timer("t", "", Buckets.FAST).register(m.registry());
        LatencyWindow w = new LatencyWindow(t, Buckets.FAST, 2);
        long s = 1_000_000_000L;
        for (int i = 0; i < 100; i++) t.record(100, TimeUnit.MILLISECONDS);
        w.tick(0);
        for (int i = 0; i < 10; i++) t.record(1, TimeUnit.MILLISECONDS);
        w.tick(s);
        assertEquals(10.0, w.rate(), 1e-9, "10 events in the second since the first tick");
        assertEquals(1e-3, w.quantile(0.99), 2e-4, "the 100 ms events came before the window");
        w.tick(2 * s);
        w.tick(3 * s);
        assertEquals(0, w.rate());
        assertTrue(Double.isNaN(w.quantile(0.5)), "nothing in the last two seconds");
        assertEquals(110, w.total());
        m.close();
    }

    @Test
    void offRecordsNothingAndScrapesEmpty() {
        NodeMetrics off = NodeMetrics.create("n", false);
        off.worker().generated();
        off.requests().firstToken(5);
        assertEquals(0, off.worker().generatedTokens());
        assertEquals("", off.scrape());
        assertTrue(off.registry().getMeters().isEmpty() || off.registry().getMeters().stream().allMatch(x -> x.getClass().getSimpleName().startsWith("Noop")));
    }
}
