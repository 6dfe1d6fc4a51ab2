package magicpig.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import magicpig.model.KvCache;
import magicpig.model.LlamaConfig;
import org.junit.jupiter.api.Test;

/** A block adopted from raw records (as a shard receives them) is the block built from the cache. */
class LshBlockAdoptTest {

    @Test
    void adoptedRecordsIndexAndAttendExactlyLikeABuiltBlock() {
        int d = 32, n = 301, start = 7;
        LlamaConfig c = TestData.config(1, 2, 1, d, 400);
        try (KvCache cache = new KvCache(c, 400); Arena arena = Arena.ofConfined()) {
            TestData.fill(cache, 400, 3, 0.7f);
            HeadSlice kv = HeadSlice.of(cache, 0, 0);
            float[] center = LshQueries.meanKey(kv, d, start, start + n);
            SimHash hash = SimHash.forHead(9, 0, 0, d, 6, 12);
            LshBlock built = LshBlock.build(kv, d, start, n, center, hash, arena);

            MemorySegment records = arena.allocate(LshBlock.recordBytes(n, d));
            HeadSlice raw = HeadSlice.interleaved(records, d);
            for (int i = 0; i < n; i++) {
                MemorySegment.copy(kv.keys(), kv.keyOffset(start + i), records, raw.keyOffset(i), 4L * d);
                MemorySegment.copy(kv.values(), kv.valueOffset(start + i), records, raw.valueOffset(i), 4L * d);
            }
            LshBlock adopted = LshBlock.adopt(records, d, start, n, center, hash, arena);
            assertEquals(built.start(), adopted.start());
            assertEquals(built.indexBytes(), adopted.indexBytes());
            for (int i = 0; i < n; i++) assertEquals(built.keyNorm(i), adopted.keyNorm(i));
            assertEquals(-1, built.tables().tokens().mismatch(adopted.tables().tokens()));
            assertEquals(-1, built.records().keys().mismatch(adopted.records().keys()));

            Random r = new Random(5);
            LogWeights w = new LogWeights(new InclusionProbability(6, 12, 2));
            LshBlock.SampleScratch s = new LshBlock.SampleScratch();
            char[] codes = new char[12];
            long[] bits = new long[hash.bitWords()];
            int sampled = 0;
            for (int t = 0; t < 20; t++) {
                float[] q = TestData.gaussian(d, r, 1);
                hash.codes(q, 0, bits, codes, 0, 1);
                float norm = VectorMath.norm(q, 0, d);
                PartialState a = new PartialState(d), b = new PartialState(d);
                built.attend(q, 0, norm, codes, 0, w, 2, s, a);
                adopted.attend(q, 0, norm, codes, 0, w, 2, s, b);
                assertEquals(a.nnz(), b.nnz());
                assertEquals(a.m(), b.m());
                assertEquals(a.l(), b.l());
                for (int i = 0; i < d; i++) assertEquals(a.o(i), b.o(i));
                sampled += a.nnz();
            }
            assertTrue(sampled > 0, "some keys were sampled");
        }
    }
}
