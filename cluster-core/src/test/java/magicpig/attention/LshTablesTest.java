package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LshTablesTest {

    @Test
    void bucketsHoldExactlyTheTokensWithThatCodeInOrder() {
        Random r = new Random(8);
        int k = 5, tables = 7, n = 1000;
        char[] codes = new char[tables * n];
        for (int i = 0; i < codes.length; i++) codes[i] = (char) r.nextInt(1 << k);
        try (Arena arena = Arena.ofConfined()) {
            LshTables t = LshTables.build(k, tables, n, codes, arena);
            assertEquals((long) tables * n * 2 + (long) tables * ((1 << k) + 1) * 4, t.bytes(), "2 bytes per token per table plus offsets");
            for (int tb = 0; tb < tables; tb++) {
                int total = 0;
                for (int b = 0; b < (1 << k); b++) {
                    int prev = -1;
                    for (int j = 0; j < t.bucketSize(tb, b); j++) {
                        int tok = t.bucketToken(tb, b, j);
                        assertEquals(b, codes[tb * n + tok]);
                        assertTrue(tok > prev);
                        prev = tok;
                    }
                    total += t.bucketSize(tb, b);
                }
                assertEquals(n, total);
            }
        }
    }

    /** Codes clustered around a few prototypes, so that queries collide with many tokens in several tables. */
    private static char[] clusteredCodes(Random r, int k, int tables, int n, char[][] protos) {
        char[] codes = new char[tables * n];
        for (int i = 0; i < n; i++) {
            char[] p = protos[r.nextInt(protos.length)];
            for (int t = 0; t < tables; t++) codes[t * n + i] = r.nextDouble() < 0.6 ? p[t] : (char) r.nextInt(1 << k);
        }
        return codes;
    }

    private static char[][] prototypes(Random r, int k, int tables, int count) {
        char[][] protos = new char[count][tables];
        for (char[] p : protos) for (int t = 0; t < tables; t++) p[t] = (char) r.nextInt(1 << k);
        return protos;
    }

    private static void checkQuery(LshTables t, char[] codes, int n, char[] q, int threshold, CollisionCounter counter) {
        int tables = t.tables();
        int found = t.collide(q, 0, threshold, counter);
        boolean[] got = new boolean[n];
        for (int j = 0; j < found; j++) {
            assertFalse(got[counter.candidates()[j]], "a token is listed twice");
            got[counter.candidates()[j]] = true;
        }
        int expected = 0;
        for (int i = 0; i < n; i++) {
            int same = 0;
            for (int tb = 0; tb < tables; tb++) if (codes[tb * n + i] == q[tb]) same++;
            assertEquals(same >= threshold, got[i], "token " + i + " with " + same + " collisions, T=" + threshold);
            if (same >= threshold) expected++;
        }
        assertEquals(expected, found);
    }

    @Test
    void retrievesTokensCollidingInAtLeastTTablesOfTheLargestBlock() {
        Random r = new Random(9);
        int k = 6, tables = 8, n = LshTables.MAX_BLOCK; // indices use all 16 bits
        char[][] protos = prototypes(r, k, tables, 8);
        char[] codes = clusteredCodes(r, k, tables, n, protos);
        try (Arena arena = Arena.ofConfined()) {
            LshTables t = LshTables.build(k, tables, n, codes, arena);
            CollisionCounter counter = new CollisionCounter(n);
            for (int threshold = 1; threshold <= tables; threshold++) {
                checkQuery(t, codes, n, protos[threshold % protos.length], threshold, counter);
            }
        }
    }

    @Test
    void epochStampsNeverLeakCountsBetweenQueriesEvenWhenTheyWrap() {
        Random r = new Random(10);
        int k = 6, tables = 6, n = 2000;
        char[][] protos = prototypes(r, k, tables, 4);
        char[] codes = clusteredCodes(r, k, tables, n, protos);
        try (Arena arena = Arena.ofConfined()) {
            LshTables t = LshTables.build(k, tables, n, codes, arena);
            CollisionCounter counter = new CollisionCounter(n);
            char[] q = new char[tables];
            for (int query = 0; query < 140_000; query++) { // two wraps of the 16-bit epoch
                char[] p = protos[query % protos.length];
                for (int i = 0; i < tables; i++) q[i] = r.nextDouble() < 0.7 ? p[i] : (char) r.nextInt(1 << k);
                int threshold = 1 + query % 3;
                if (query % 20_000 == 0 || (query >= 65_530 && query <= 65_540)) checkQuery(t, codes, n, q, threshold, counter);
                else t.collide(q, 0, threshold, counter);
            }
        }
    }
}
