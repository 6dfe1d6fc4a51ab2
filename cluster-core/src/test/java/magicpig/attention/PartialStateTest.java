package magicpig.attention;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PartialStateTest {
    static final int D = 20;

    /** A state over keys with given logits and random values (kept in vals). */
    private static PartialState stateOf(float[] logits, HeadSlice kv, int first) {
        PartialState s = new PartialState(D);
        PartialSoftmax.accumulate(logits, logits.length, null, first, kv, D, s);
        return s;
    }

    @Test
    void mergeInAnyOrderEqualsSoftmaxOverTheUnion() {
        Random r = new Random(4);
        int n = 60;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vals = arena.allocate((long) n * D * 4);
            for (int i = 0; i < n * D; i++) vals.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            HeadSlice kv = new HeadSlice(vals, vals, 0, 0, D * 4L);
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = (float) (r.nextGaussian() * 5 + (i < 10 ? 30 : 0));
            // three parts: [0,10) huge logits, [10,35), [35,60)
            int[][] parts = {{0, 10}, {10, 35}, {35, 60}};
            PartialState[] st = new PartialState[3];
            for (int p = 0; p < 3; p++) {
                float[] sub = java.util.Arrays.copyOfRange(logits, parts[p][0], parts[p][1]);
                st[p] = stateOf(sub, kv, parts[p][0]);
            }
            PartialState whole = stateOf(logits, kv, 0);
            int[][] orders = {{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {1, 2, 0}};
            for (int[] o : orders) {
                PartialState m = new PartialState(D).copyFrom(st[o[0]]).merge(st[o[1]]).merge(st[o[2]]);
                assertEquals(n, m.nnz());
                assertEquals(whole.logSumExp(), m.logSumExp(), 1e-5);
                for (int i = 0; i < D; i++) assertEquals(whole.o(i), m.o(i), 1e-5);
            }
            // associativity: (a ⊕ b) ⊕ c == a ⊕ (b ⊕ c)
            PartialState left = new PartialState(D).copyFrom(st[0]).merge(st[1]).merge(st[2]);
            PartialState bc = new PartialState(D).copyFrom(st[1]).merge(st[2]);
            PartialState right = new PartialState(D).copyFrom(st[0]).merge(bc);
            for (int i = 0; i < D; i++) assertEquals(left.o(i), right.o(i), 1e-6);
            // the wire form (normalised o) merges the same
            float[] o2 = new float[D];
            st[2].writeOutput(o2, 0);
            PartialState wire = new PartialState(D).copyFrom(st[0]).merge(st[1]).mergeNormalised(st[2].m(), st[2].l(), o2, 0, st[2].nnz());
            for (int i = 0; i < D; i++) assertEquals(whole.o(i), wire.o(i), 1e-5);
        }
    }

    @Test
    void emptyStateIsTheIdentity() {
        PartialState empty = new PartialState(D);
        assertEquals(0, empty.nnz());
        assertEquals(0, empty.l());
        assertEquals(Float.NEGATIVE_INFINITY, empty.m());
        assertEquals(Double.NEGATIVE_INFINITY, empty.logSumExp());
        float[] out = new float[D];
        java.util.Arrays.fill(out, 7);
        empty.writeOutput(out, 0);
        for (float v : out) assertEquals(0, v);

        PartialState a = new PartialState(D);
        float[] o = new float[D];
        for (int i = 0; i < D; i++) o[i] = i;
        a.mergeNormalised(2f, 3f, o, 0, 5);
        PartialState b = new PartialState(D).copyFrom(a).merge(new PartialState(D));
        PartialState c = new PartialState(D).merge(a);
        for (PartialState s : new PartialState[]{b, c}) {
            assertEquals(2f, s.m());
            assertEquals(3f, s.l());
            assertEquals(5, s.nnz());
            for (int i = 0; i < D; i++) assertEquals(i, s.o(i), 1e-6);
        }
        // two empties stay empty (no NaN from -inf - -inf)
        PartialState e2 = new PartialState(D).merge(new PartialState(D));
        assertTrue(e2.isEmpty());
        assertEquals(Float.NEGATIVE_INFINITY, e2.m());
        // an empty part still counts its nnz of zero, and a state with l=0 from the wire is empty
        PartialState w = new PartialState(D).mergeNormalised(Float.NEGATIVE_INFINITY, 0f, new float[D], 0, 0);
        assertTrue(w.isEmpty());
    }
}
