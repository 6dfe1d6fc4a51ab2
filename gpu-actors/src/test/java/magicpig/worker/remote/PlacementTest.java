package magicpig.worker.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.util.List;
import magicpig.attention.AttentionSettings;
import magicpig.transport.ShardAddress;
import org.junit.jupiter.api.Test;

class PlacementTest {
    static final ShardAddress A = new ShardAddress("shard-0@h:1", "h:1", "/dev/shm/x", "aeron:ipc", "aeron:udp?endpoint=h:26520", 1001);
    static final ShardAddress B = new ShardAddress("shard-1@g:1", "g:1", "/dev/shm/y", "aeron:ipc", "aeron:udp?endpoint=g:26520", 1002);

    @Test
    void travelsAsCborAndKeepsEveryField() throws Exception {
        Placement p = new Placement(Placement.wireId("req-1"), List.of(new Placement.Block(0, 0, 4096, A), new Placement.Block(1, 4096, 5000, B)));
        ObjectMapper cbor = new ObjectMapper(new CBORFactory());
        assertEquals(p, cbor.readValue(cbor.writeValueAsBytes(p), Placement.class));
        assertEquals(5000, p.tokens());
        assertEquals(B, p.withShard(0, B).blocks().get(0).shard());
    }

    @Test
    void blocksMustCoverTheOffloadedTokensInOrder() {
        var e = assertThrows(IllegalArgumentException.class,
            () -> new Placement(1, List.of(new Placement.Block(0, 0, 100, A), new Placement.Block(1, 120, 200, A))));
        assertTrue(e.getMessage().contains("starts at 120, expected 100"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Placement.Block(0, 0, 70_000, A), "at most 65,536 tokens");
        assertThrows(IllegalArgumentException.class, () -> new Placement(1, List.of(new Placement.Block(0, 0, 1, A), new Placement.Block(0, 1, 2, A))));
    }

    @Test
    void offloadedTokensAndRanges() {
        var s = AttentionSettings.magicPig().withStatic(4, 64);
        assertEquals(532, Placement.offloadedTokens(600, s));
        assertEquals(0, Placement.offloadedTokens(60, s));
        assertEquals(List.of("0-200", "200-400", "400-532"),
            Placement.ranges(532, 200).stream().map(r -> r[0] + "-" + r[1]).toList());
    }

    @Test
    void aWorkerOnTheShardsDriverUsesIpcAnyOtherUdp() {
        assertEquals("aeron:ipc", A.channelFor("/dev/shm/x"));
        assertEquals("aeron:udp?endpoint=h:26520", A.channelFor("/dev/shm/other"));
        assertNotEquals(Placement.wireId("a"), Placement.wireId("b"));
    }
}
