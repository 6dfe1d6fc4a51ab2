package magicpig.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Consumer;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/** PartialStates, BlockChunk, BlockAck, BlockFree, Error and Hello: round trips, limits, bad frames. */
class ControlCodecsTest {

    /** Every prefix of a valid frame, and the frame with a wrong type byte, must fail cleanly. */
    private static void assertTruncationsFail(DirectBuffer frame, int length, Consumer<Integer> decodeWithLength) {
        for (int cut = 0; cut < length; cut++) {
            int at = cut;
            assertThrows(WireFormatException.class, () -> decodeWithLength.accept(at), "truncated to " + cut);
        }
    }

    @Test
    void partialStatesRoundTripIncludingEmptyHeads() {
        var buffer = new ExpandableArrayBuffer(8);
        var enc = new PartialStates.Encoder().wrap(buffer, 4, 3, 4);
        enc.correlationId(Long.MAX_VALUE).sequenceId(42).layer(7).computeNanos(123_456);
        enc.state(0, 1.5f, 2.25, 17).o(0, new double[] {1, 2, 3, 4}, 0);
        enc.empty(1);
        enc.state(2, -3f, 0.5 + 1e-12, 1).o(2, 3, 9 + 1e-12);
        assertEquals(40 + 3 * (16 + 32), enc.encodedLength());

        var dec = new PartialStates.Decoder().wrap(buffer, 4, enc.encodedLength());
        assertEquals(Long.MAX_VALUE, dec.correlationId());
        assertEquals(42, dec.sequenceId());
        assertEquals(7, dec.layer());
        assertEquals(123_456, dec.computeNanos());
        assertEquals(3, dec.headCount());
        assertEquals(1.5f, dec.m(0));
        assertEquals(2.25, dec.l(0));
        assertEquals(17, dec.nnz(0));
        double[] o = new double[4];
        dec.getO(0, o, 0);
        assertEquals(4, o[3]);
        assertEquals(Float.NEGATIVE_INFINITY, dec.m(1));
        assertEquals(0, dec.l(1));
        assertEquals(0, dec.nnz(1));
        assertEquals(0, dec.o(1, 2));
        assertEquals(9 + 1e-12, dec.o(2, 3), "o and l keep double precision");
        assertEquals(0.5 + 1e-12, dec.l(2));
        assertThrows(IndexOutOfBoundsException.class, () -> dec.m(3));

        // The benchmark's reply: H*(d*8 + 16) plus 40 bytes.
        assertEquals(32 * (128 * 8 + 16) + 40, new PartialStates.Encoder().wrap(buffer, 0, 32, 128).encodedLength());
        var largest = new PartialStates.Encoder().wrap(buffer, 0, 0xFFFF, 1);
        largest.state(0xFFFE, 1f, 1, Integer.MAX_VALUE);
        assertEquals(Integer.MAX_VALUE, new PartialStates.Decoder().wrap(buffer, 0, largest.encodedLength()).nnz(0xFFFE));

        var small = new PartialStates.Encoder().wrap(buffer, 0, 2, 3);
        assertTruncationsFail(buffer, small.encodedLength(), n -> new PartialStates.Decoder().wrap(buffer, 0, n));
    }

    @Test
    void blockChunkRoundTripAndConsistencyChecks() {
        var payload = new UnsafeBuffer(new byte[100]);
        for (int i = 0; i < 100; i++) {
            payload.putByte(i, (byte) (i * 7));
        }
        var buffer = new ExpandableArrayBuffer(8);
        var enc = new BlockChunk.Encoder().wrap(buffer, 0, 40);
        enc.correlationId(9).sequenceId(10).blockId(11).layer(12).kvHead(0xFFFF).payloadKind(PayloadKind.CODES)
            .tokens(4, 65_536).chunk(1, 3, 100, 40).payload(payload, 40);
        assertEquals(104, enc.encodedLength());

        var dec = new BlockChunk.Decoder().wrap(buffer, 0, 104);
        assertEquals(9, dec.correlationId());
        assertEquals(10, dec.sequenceId());
        assertEquals(11, dec.blockId());
        assertEquals(12, dec.layer());
        assertEquals(0xFFFF, dec.kvHead());
        assertEquals(PayloadKind.CODES, dec.payloadKind());
        assertEquals(4, dec.firstToken());
        assertEquals(65_536, dec.tokenCount());
        assertEquals(1, dec.chunkIndex());
        assertEquals(3, dec.chunkCount());
        assertEquals(100, dec.totalLength());
        assertEquals(40, dec.chunkOffset());
        assertEquals(40, dec.payloadLength());
        for (int i = 0; i < 40; i++) {
            assertEquals(payload.getByte(40 + i), buffer.getByte(dec.payloadOffset() + i));
        }
        assertTruncationsFail(buffer, 104, n -> new BlockChunk.Decoder().wrap(buffer, 0, n));

        // A chunk that would write past the end of its transfer, a bad kind, an index past the count.
        enc.chunk(2, 3, 100, 70);
        assertTrue(assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, 104))
            .getMessage().contains("does not fit a payload of 100 bytes"));
        enc.chunk(3, 3, 100, 0);
        assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, 104));
        enc.chunk(0, 3, 100, 0);
        buffer.putByte(34, (byte) 99);
        assertTrue(assertThrows(WireFormatException.class, () -> dec.wrap(buffer, 0, 104))
            .getMessage().contains("unknown payload kind 99"));

        // Header-only encoding for a gathered offer: the header says header + payload.
        var header = new UnsafeBuffer(new byte[BlockChunk.HEADER_LENGTH]);
        new BlockChunk.Encoder().wrapHeaderOnly(header, 0, 1 << 20);
        assertEquals(BlockChunk.HEADER_LENGTH + (1 << 20), MessageHeader.messageLength(header, 0));
    }

    @Test
    void blockAckFreeErrorAndHelloRoundTrip() {
        MutableDirectBuffer buffer = new ExpandableArrayBuffer(8);

        var ack = new BlockAck.Encoder().wrap(buffer, 0)
            .ackTransfer(1, 2, 3, 4, 5, PayloadKind.VALUES, 6, 7L << 33);
        var ackDec = new BlockAck.Decoder().wrap(buffer, 0, ack.encodedLength());
        assertEquals(1, ackDec.correlationId());
        assertEquals(2, ackDec.sequenceId());
        assertEquals(3, ackDec.blockId());
        assertEquals(4, ackDec.layer());
        assertEquals(5, ackDec.kvHead());
        assertEquals(MessageType.BLOCK_CHUNK, ackDec.ackedType());
        assertEquals(PayloadKind.VALUES, ackDec.payloadKind());
        assertEquals(6, ackDec.chunkCount());
        assertEquals(7L << 33, ackDec.bytes());
        assertTruncationsFail(buffer, BlockAck.LENGTH, n -> new BlockAck.Decoder().wrap(buffer, 0, n));
        new BlockAck.Encoder().wrap(buffer, 0).ackFree(8, 9, AttentionQuery.ALL_BLOCKS, 100);
        ackDec.wrap(buffer, 0, BlockAck.LENGTH);
        assertEquals(MessageType.BLOCK_FREE, ackDec.ackedType());
        assertNull(ackDec.payloadKind());
        assertEquals(-1, ackDec.blockId());

        var free = new BlockFree.Encoder().wrap(buffer, 0).set(11, 12, AttentionQuery.ALL_BLOCKS);
        var freeDec = new BlockFree.Decoder().wrap(buffer, 0, free.encodedLength());
        assertEquals(11, freeDec.correlationId());
        assertEquals(12, freeDec.sequenceId());
        assertTrue(freeDec.allBlocks());
        assertTruncationsFail(buffer, BlockFree.LENGTH, n -> new BlockFree.Decoder().wrap(buffer, 0, n));
        assertThrows(WireFormatException.class, () -> new BlockFree.Encoder().wrap(buffer, 0).set(1, 1, -2));

        var error = new ErrorMessage.Encoder().encode(buffer, 0, 13, ErrorMessage.HANDLER_FAILED, "shard ü broke");
        var errorDec = new ErrorMessage.Decoder().wrap(buffer, 0, error.encodedLength());
        assertEquals(13, errorDec.correlationId());
        assertEquals(ErrorMessage.HANDLER_FAILED, errorDec.code());
        assertEquals("shard ü broke", errorDec.text());
        int errorLength = error.encodedLength();
        assertTruncationsFail(buffer, errorLength, n -> new ErrorMessage.Decoder().wrap(buffer, 0, n));
        var huge = new ErrorMessage.Encoder().encode(buffer, 0, 1, 1, "x".repeat(5000));
        assertEquals(ErrorMessage.FIXED_LENGTH + ErrorMessage.MAX_TEXT_BYTES, huge.encodedLength());
        assertEquals(ErrorMessage.MAX_TEXT_BYTES, errorDec.wrap(buffer, 0, huge.encodedLength()).text().length());

        var hello = new Hello.Encoder().encode(buffer, 0, 14, 1001, "worker-0", "aeron:udp?endpoint=127.0.0.1:40123");
        var helloDec = new Hello.Decoder().wrap(buffer, 0, hello.encodedLength());
        assertEquals(14, helloDec.correlationId());
        assertEquals(1001, helloDec.streamId());
        assertEquals("worker-0", helloDec.name());
        assertEquals("aeron:udp?endpoint=127.0.0.1:40123", helloDec.channel());
        assertTruncationsFail(buffer, hello.encodedLength(), n -> new Hello.Decoder().wrap(buffer, 0, n));
        assertThrows(WireFormatException.class,
            () -> new Hello.Encoder().encode(buffer, 0, 1, 1, "n".repeat(300), "aeron:ipc"));
    }

    @Test
    void headerPeekNamesTheTypeAndRejectsGarbage() {
        var buffer = new UnsafeBuffer(new byte[64]);
        new BlockFree.Encoder().wrap(buffer, 0).set(1, 2, 3);
        assertEquals(MessageType.BLOCK_FREE, MessageHeader.type(buffer, 0, 64));
        assertEquals("BlockFree", MessageType.name(MessageType.BLOCK_FREE));
        assertThrows(WireFormatException.class, () -> MessageHeader.type(buffer, 0, 7));
        var wrongType = assertThrows(WireFormatException.class, () -> new BlockAck.Decoder().wrap(buffer, 0, 64));
        assertTrue(wrongType.getMessage().contains("got BlockFree"), wrongType.getMessage());
        buffer.putInt(4, 1000, MessageHeader.BYTE_ORDER);
        assertTrue(assertThrows(WireFormatException.class, () -> MessageHeader.type(buffer, 0, 64))
            .getMessage().contains("truncated"));
    }

    @Test
    void hotCodecsAllocateNothing() {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        var buffer = new UnsafeBuffer(new byte[64 * 1024]);
        var reply = new UnsafeBuffer(new byte[64 * 1024]);
        var qEnc = new AttentionQuery.Encoder();
        var qDec = new AttentionQuery.Decoder();
        var sEnc = new PartialStates.Encoder();
        var sDec = new PartialStates.Decoder();
        var cEnc = new BlockChunk.Encoder();
        var cDec = new BlockChunk.Decoder();
        float[] q = new float[32 * 128];
        int[] codes = new int[32 * 150];
        double[] o = new double[128];
        Runnable round = () -> {
            qEnc.wrap(buffer, 0, 32, 128, 10, 150, AttentionQuery.ALL_BLOCKS).correlationId(1).sequenceId(2);
            for (int h = 0; h < 32; h++) {
                qEnc.kvHead(h, h / 4).query(h, q, h * 128).codes(h, codes, h * 150);
            }
            qDec.wrap(buffer, 0, qEnc.encodedLength());
            sEnc.wrap(reply, 0, qDec.headCount(), qDec.headDim()).correlationId(qDec.correlationId());
            for (int h = 0; h < 32; h++) {
                sEnc.state(h, qDec.query(h, 0), 1f, qDec.code(h, 0)).o(h, o, 0);
            }
            sDec.wrap(reply, 0, sEnc.encodedLength()).getO(31, o, 0);
            cEnc.wrap(buffer, 0, 1000).payloadKind(PayloadKind.KEYS).chunk(0, 1, 1000, 0).tokens(0, 1);
            cDec.wrap(buffer, 0, cEnc.encodedLength());
        };
        for (int i = 0; i < 20_000; i++) {
            round.run();
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 1_000; i++) {
            round.run();
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 1_000, "1,000 encode/decode rounds allocated " + allocated + " bytes");
    }
}
