package magicpig.attention.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BenchStatsTest {
    @Test
    void medianOfOddAndEvenCountsLeavesTheArrayAlone() {
        double[] odd = {5, 1, 3};
        assertEquals(3, BenchStats.median(odd));
        assertArrayEquals(new double[] {5, 1, 3}, odd);
        assertEquals(2.5, BenchStats.median(4, 1, 2, 3));
        assertThrows(IllegalArgumentException.class, BenchStats::median);
    }
}
