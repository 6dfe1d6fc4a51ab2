package magicpig.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class AttentionQueryCodecTest {

    private static AttentionQuery.Encoder fill(AttentionQuery.Encoder enc, Random random, float[] q, int[] codes) {
        int headDim = enc.headDim();
        int l = enc.l();
        int limit = 1 << enc.k();
        for (int h = 0; h < enc.headCount(); h++) {
            for (int i = 0; i < headDim; i++) {
                q[h * headDim + i] = (float) random.nextGaussian();
            }
            for (int t = 0; t < l; t++) {
                codes[h * l + t] = random.nextInt(limit);
            }
            enc.kvHead(h, h / 4).query(h, q, h * headDim).codes(h, codes, h * l);
        }
        return enc;
    }

    @Test
    void roundTripsEveryFieldAtTheBenchmarkShape() {
        int heads = 32;
        int dim = 128;
        int k = 10;
        int l = 150;
        var random = new Random(1);
        float[] q = new float[heads * dim];
        int[] codes = new int[heads * l];
        var buffer = new ExpandableArrayBuffer(64);
        var enc = new AttentionQuery.Encoder().wrap(buffer, 16, heads, dim, k, l, 3);
        enc.correlationId(77).sequenceId(-5).layer(31).step(96_000).blockId(0, 7).blockId(1, 0).blockId(2, 1 << 30);
        fill(enc, random, q, codes);
        // The cost model's H*(L*2 + d*4), plus 4 bytes of kv head per head, a 48-byte fixed part and
        // 4 bytes per block id.
        assertEquals(heads * (l * 2 + dim * 4) + heads * 4 + 48 + 12, enc.encodedLength());

        var dec = new AttentionQuery.Decoder().wrap(buffer, 16, enc.encodedLength());
        assertEquals(77, dec.correlationId());
        assertEquals(-5, dec.sequenceId());
        assertEquals(31, dec.layer());
        assertEquals(96_000, dec.step());
        assertEquals(heads, dec.headCount());
        assertEquals(dim, dec.headDim());
        assertEquals(k, dec.k());
        assertEquals(l, dec.l());
        assertEquals(3, dec.blockCount());
        assertEquals(7, dec.blockId(0));
        assertEquals(0, dec.blockId(1));
        assertEquals(1 << 30, dec.blockId(2));
        float[] qBack = new float[dim];
        int[] codesBack = new int[l];
        for (int h = 0; h < heads; h++) {
            assertEquals(h / 4, dec.kvHead(h));
            dec.getQuery(h, qBack, 0);
            dec.getCodes(h, codesBack, 0);
            for (int i = 0; i < dim; i++) {
                assertEquals(q[h * dim + i], qBack[i]);
                assertEquals(q[h * dim + i], dec.query(h, i));
            }
            for (int t = 0; t < l; t++) {
                assertEquals(codes[h * l + t], codesBack[t]);
                assertEquals(codes[h * l + t], dec.code(h, t));
            }
        }
    }

    @Test
    void oddTableCountIsPaddedAndAllBlocksHasNoList() {
        var buffer = new ExpandableArrayBuffer(16);
        var enc = new AttentionQuery.Encoder().wrap(buffer, 0, 3, 5, 16, 7, AttentionQuery.ALL_BLOCKS);
        fill(enc, new Random(2), new float[15], new int[21]);
        enc.code(2, 6, 0xFFFF);
        assertEquals(48 + 3 * (4 + 20 + 16), enc.encodedLength());
        var dec = new AttentionQuery.Decoder().wrap(buffer, 0, enc.encodedLength());
        assertTrue(dec.allBlocks());
        assertEquals(0xFFFF, dec.code(2, 6));
        assertThrows(IndexOutOfBoundsException.class, () -> dec.blockId(0));
    }

    @Test
    void largestShapesFitTheirFields() {
        var buffer = new ExpandableArrayBuffer(16);
        var enc = new AttentionQuery.Encoder().wrap(buffer, 0, 0xFFFF, 1, 16, 1, 0);
        enc.kvHead(0xFFFE, 0xFFFF).query(0xFFFE, 0, Float.MAX_VALUE).code(0xFFFE, 0, 0xFFFF);
        var dec = new AttentionQuery.Decoder().wrap(buffer, 0, enc.encodedLength());
        assertEquals(0xFFFF, dec.headCount());
        assertEquals(0xFFFF, dec.kvHead(0xFFFE));
        assertEquals(Float.MAX_VALUE, dec.query(0xFFFE, 0));
        assertEquals(0xFFFF, dec.code(0xFFFE, 0));

        enc.wrap(buffer, 0, 1, 0xFFFF, 16, 0xFFFF, 1000);
        enc.query(0, 0xFFFE, -1f).code(0, 0xFFFE, 12345).blockId(999, -7);
        dec.wrap(buffer, 0, enc.encodedLength());
        assertEquals(-1f, dec.query(0, 0xFFFE));
        assertEquals(12345, dec.code(0, 0xFFFE));
        assertEquals(-7, dec.blockId(999));
    }

    @Test
    void prefixWithAnotherBlockListMakesTheSameQueryAsADirectEncode() {
        var random = new Random(3);
        float[] q = new float[4 * 8];
        int[] codes = new int[4 * 9];
        var heads = new ExpandableArrayBuffer(16);
        var template = new AttentionQuery.Encoder().wrap(heads, 0, 4, 8, 6, 9, AttentionQuery.ALL_BLOCKS);
        template.sequenceId(9).layer(2).step(100);
        fill(template, random, q, codes);

        int[] blocks = {-1, 4, 5, 6};
        var prefix = new ExpandableArrayBuffer(16);
        int prefixLength = template.writePrefix(prefix, 0, 555, blocks, 1, 3);
        var joined = new UnsafeBuffer(new byte[prefixLength + template.encodedLength() - template.headsOffset()]);
        joined.putBytes(0, prefix, 0, prefixLength);
        joined.putBytes(prefixLength, heads, template.headsOffset(), template.encodedLength() - template.headsOffset());

        var direct = new ExpandableArrayBuffer(16);
        var enc = new AttentionQuery.Encoder().wrap(direct, 0, 4, 8, 6, 9, 3);
        enc.correlationId(555).sequenceId(9).layer(2).step(100).blockId(0, 4).blockId(1, 5).blockId(2, 6);
        fill(enc, new Random(3), new float[32], new int[36]);

        assertEquals(enc.encodedLength(), joined.capacity());
        for (int i = 0; i < joined.capacity(); i++) {
            assertEquals(direct.getByte(i), joined.getByte(i), "byte " + i);
        }
        var dec = new AttentionQuery.Decoder().wrap(joined, 0, joined.capacity());
        assertEquals(555, dec.correlationId());
        assertEquals(6, dec.blockId(2));
    }

    @Test
    void encoderRefusesCodesWiderThanKAndShapesOutOfRange() {
        var buffer = new ExpandableArrayBuffer(16);
        var enc = new AttentionQuery.Encoder().wrap(buffer, 0, 1, 4, 10, 2, 0);
        var e = assertThrows(WireFormatException.class, () -> enc.code(0, 1, 1024));
        assertTrue(e.getMessage().contains("K=10"), e.getMessage());
        assertThrows(WireFormatException.class, () -> enc.wrap(buffer, 0, 0, 4, 10, 2, 0));
        assertThrows(WireFormatException.class, () -> enc.wrap(buffer, 0, 1, 4, 17, 2, 0));
        assertThrows(WireFormatException.class, () -> enc.wrap(buffer, 0, 1, 4, 10, 0x10000, 0));
        var small = new UnsafeBuffer(new byte[100]);
        var tooSmall = assertThrows(WireFormatException.class, () -> enc.wrap(small, 0, 32, 128, 10, 150, 0));
        assertTrue(tooSmall.getMessage().contains("buffer holds 100"), tooSmall.getMessage());
    }

    @Test
    void everyTruncationAndCorruptionIsAWireFormatException() {
        var buffer = new UnsafeBuffer(new byte[2048]);
        var enc = new AttentionQuery.Encoder().wrap(buffer, 0, 2, 16, 8, 5, 2);
        fill(enc, new Random(4), new float[32], new int[10]);
        int length = enc.encodedLength();
        var dec = new AttentionQuery.Decoder();
        for (int cut = 0; cut < length; cut++) {
            int at = cut;
            assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, at), "truncated to " + cut);
        }
        // A frame whose length field was cut to agree with the truncation is still caught (shape vs length).
        buffer.putInt(4, length - 4, MessageHeader.BYTE_ORDER);
        var shape = assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, length - 4));
        assertTrue(shape.getMessage().contains("need " + length + " bytes"), shape.getMessage());
        buffer.putInt(4, length, MessageHeader.BYTE_ORDER);
        dec.wrap(buffer, 0, length);

        // A code above 2^K.
        int codeAt = AttentionQuery.prefixLength(2) + 4 + 4 * 16;
        buffer.putShort(codeAt, (short) 300, MessageHeader.BYTE_ORDER);
        var code = assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, length));
        assertTrue(code.getMessage().contains("code 300 of head 0, table 0"), code.getMessage());
        buffer.putShort(codeAt, (short) 1, MessageHeader.BYTE_ORDER);

        // Another type, another version, another protocol, and an offset past the buffer.
        buffer.putByte(2, (byte) MessageType.PARTIAL_STATES);
        var type = assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, length));
        assertTrue(type.getMessage().contains("expected a AttentionQuery message, got PartialStates"), type.getMessage());
        buffer.putByte(2, (byte) MessageType.ATTENTION_QUERY);
        buffer.putByte(3, (byte) 9);
        assertTrue(assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, length))
            .getMessage().contains("wire version 9"));
        buffer.putByte(3, (byte) MessageHeader.VERSION);
        buffer.putByte(0, (byte) 'x');
        assertTrue(assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, length))
            .getMessage().contains("not a MagicPIG data-plane frame"));
        assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 2040, 100));
        assertThrows(WireFormatException.class, () -> dec.wrap(buffer, -1, 100));
    }

    @Test
    void randomGarbageNeverEscapesAsAnythingButWireFormatException() {
        var random = new Random(5);
        var buffer = new UnsafeBuffer(new byte[512]);
        var dec = new AttentionQuery.Decoder();
        for (int trial = 0; trial < 5_000; trial++) {
            byte[] bytes = new byte[512];
            random.nextBytes(bytes);
            buffer.wrap(bytes);
            // Half the trials get a plausible header so that the shape checks are exercised too.
            if (trial % 2 == 0) {
                MessageHeader.write(buffer, 0, MessageType.ATTENTION_QUERY, 1 + random.nextInt(511));
            }
            try {
                dec.wrap(buffer, 0, 1 + random.nextInt(512));
            } catch (WireFormatException expected) {
                // the only acceptable failure
            }
        }
    }
}
