package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class SimHashTest {

    /** Every bit of every code is the sign of the matching projection, LSB first, for K up to 16. */
    @Test
    void codesPackSignBitsLeastSignificantFirst() {
        Random r = new Random(1);
        for (int k : new int[]{1, 3, 10, 11, 12, 16}) {
            int d = 24, tables = 13; // K*L straddles 64-bit words for most K
            SimHash h = new SimHash(d, k, tables, 42 + k);
            float[] x = TestData.gaussian(d, r, 1);
            long[] bits = new long[h.bitWords()];
            char[] codes = new char[tables];
            h.codes(x, 0, bits, codes, 0, 1);
            int checked = 0;
            for (int t = 0; t < tables; t++) {
                assertTrue(codes[t] < (1 << k), "code has bits above K");
                for (int j = 0; j < k; j++) {
                    double proj = 0, mag = 0;
                    for (int i = 0; i < d; i++) {
                        proj += (double) x[i] * h.weight(i, t * k + j);
                        mag += Math.abs(x[i] * h.weight(i, t * k + j));
                    }
                    if (Math.abs(proj) < 1e-5 * mag) continue; // float rounding may pick either sign
                    int bit = (codes[t] >>> j) & 1;
                    assertEquals(proj > 0 ? 1 : 0, bit, "K=" + k + " table " + t + " bit " + j);
                    checked++;
                }
            }
            assertTrue(checked > tables * k * 0.9);
        }
    }

    @Test
    void fourAtOnceEqualsOneAtATime() {
        Random r = new Random(2);
        SimHash h = new SimHash(40, 10, 150, 7);
        float[] x = TestData.gaussian(4 * 40, r, 1);
        long[] four = new long[4 * h.bitWords()];
        h.hash4(x, 0, four, 0);
        long[] one = new long[h.bitWords()];
        for (int j = 0; j < 4; j++) {
            h.hash1(x, j * 40, one, 0);
            for (int w = 0; w < one.length; w++) assertEquals(one[w], four[j * h.bitWords() + w]);
        }
    }

    @Test
    void projectionIsFixedByMasterSeedLayerAndHead() {
        SimHash a = SimHash.forHead(5, 3, 1, 16, 8, 4);
        SimHash b = SimHash.forHead(5, 3, 1, 16, 8, 4);
        SimHash otherHead = SimHash.forHead(5, 3, 2, 16, 8, 4);
        SimHash otherLayer = SimHash.forHead(5, 4, 1, 16, 8, 4);
        SimHash otherSeed = SimHash.forHead(6, 3, 1, 16, 8, 4);
        assertEquals(a.weight(7, 20), b.weight(7, 20));
        assertNotEquals(a.weight(7, 20), otherHead.weight(7, 20));
        assertNotEquals(a.weight(7, 20), otherLayer.weight(7, 20));
        assertNotEquals(a.weight(7, 20), otherSeed.weight(7, 20));
        // the first tables do not depend on L
        SimHash more = SimHash.forHead(5, 3, 1, 16, 8, 9);
        assertEquals(a.weight(15, 31), more.weight(15, 31));
    }

    @Test
    void projectionsAreStandardNormal() {
        SimHash h = new SimHash(64, 16, 64, 99);
        double sum = 0, sq = 0;
        int n = 64 * 16 * 64;
        for (int i = 0; i < 64; i++) for (int c = 0; c < 16 * 64; c++) {
            double w = h.weight(i, c);
            sum += w;
            sq += w * w;
        }
        assertEquals(0, sum / n, 0.02);
        assertEquals(1, sq / n, 0.03);
    }

    @Test
    void rejectsKOutsideOneToSixteen() {
        assertThrows(IllegalArgumentException.class, () -> new SimHash(8, 17, 4, 1));
        assertThrows(IllegalArgumentException.class, () -> new SimHash(8, 0, 4, 1));
    }
}
