package magicpig.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import magicpig.attention.AttentionSettings;
import magicpig.attention.DenseLayers;
import magicpig.model.SyntheticModels;
import org.junit.jupiter.api.Test;

/** The ledger: what a block costs, what fits, what a refusal says, and that a release frees it all. */
class ShardStoreTest {

    @Test
    void blockBytesCountRecordsNormsTablesAndCentersOfEverySparseHead() {
        var config = SyntheticModels.shape("tiny"); // 4 layers, 4 kv heads, head dim 32
        var settings = AttentionSettings.magicPig().withLsh(8, 40, 2).withDenseLayers(DenseLayers.of(0));
        long head = 200L * 2 * 32 * 4 + 200L * 4 + 2L * 40 * 200 + 4L * 40 * 257 + 4L * 32;
        assertEquals(head, ShardStore.headBytes(200, 32, 8, 40));
        assertEquals(3 * 4 * head, ShardStore.blockBytes(config, settings, 200), "three sparse layers x four kv heads");
    }

    @Test
    void aReservationBeyondTheBudgetIsRefusedWithTheReasonAndAReleaseFreesEverything() {
        try (var store = new ShardStore("s7", 4L << 30)) {
            assertNull(store.reserve(1, 0, 3L << 30));
            assertNull(store.reserve(1, 1, 900L << 20));
            assertEquals((3L << 30) + (900L << 20), store.usedBytes());
            String refusal = store.reserve(2, 0, 200L << 20);
            assertEquals("shard s7: block of 200 MiB exceeds the free 124 MiB of its 4 GiB budget", refusal);
            assertEquals((3L << 30) + (900L << 20), store.usedBytes(), "a refusal holds nothing");
            assertNull(store.reserve(1, 1, 100L << 20), "a block's reservation can shrink");
            assertNull(store.reserve(2, 0, 200L << 20), "and then the other fits");

            assertEquals((3L << 30) + (100L << 20), store.free(1, magicpig.wire.AttentionQuery.ALL_BLOCKS));
            assertEquals(200L << 20, store.usedBytes());
            store.free(2, 0);
            assertEquals(0, store.usedBytes());
            assertEquals(0, store.reservedAheadBytes());
        }
    }

    @Test
    void bytesReadLikeAPerson() {
        assertEquals("512 B", ShardMemory.bytes(512));
        assertEquals("1.5 KiB", ShardMemory.bytes(1536));
        assertEquals("123 MiB", ShardMemory.bytes(123L << 20));
        assertEquals("4 GiB", ShardMemory.bytes(4L << 30));
        assertTrue(ShardMemory.bytes((4L << 30) + 1).startsWith("4.0 GiB"));
    }
}
