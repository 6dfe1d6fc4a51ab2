package magicpig.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import magicpig.wire.AttentionQuery;
import magicpig.wire.PartialStates;
import org.agrona.DirectBuffer;

/** Fakes and helpers shared by the transport tests. */
final class TestShards {
    private TestShards() {}

    /**
     * A shard that computes something checkable from each query: per head m = sum of the query,
     * l = kv head + 1, nnz = first code + sum of the block ids (or -1 for all blocks), and
     * o[i] = 2 q[i] + layer. Keeps copies of transferred blocks.
     */
    static class CheckableShard implements ShardHandler {
        final ConcurrentHashMap<Long, byte[]> blocks = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<String> freed = new ConcurrentLinkedQueue<>();

        @Override
        public void onQuery(AttentionQuery.Decoder query, PartialStates.Encoder reply) {
            int blockSum = 0;
            if (query.allBlocks()) {
                blockSum = -1;
            } else {
                for (int b = 0; b < query.blockCount(); b++) {
                    blockSum += query.blockId(b);
                }
            }
            for (int h = 0; h < query.headCount(); h++) {
                float sum = 0;
                for (int i = 0; i < query.headDim(); i++) {
                    float q = query.query(h, i);
                    sum += q;
                    reply.o(h, i, 2 * q + query.layer());
                }
                reply.state(h, sum, query.kvHead(h) + 1, query.code(h, 0) + blockSum);
            }
        }

        @Override
        public void onBlock(ReceivedBlock block, DirectBuffer payload, int offset, int length) {
            byte[] copy = new byte[length];
            payload.getBytes(offset, copy);
            blocks.put(block.correlationId(), copy);
        }

        @Override
        public long onBlockFree(long sequenceId, int blockId) {
            freed.add(sequenceId + "/" + blockId);
            return 1234;
        }
    }

    /** The worker side of a query: random heads, remembered to check the reply against. */
    static final class SentQuery {
        final int heads;
        final int dim;
        final int l;
        final float[] q;
        final int[] codes;
        final int layer;

        SentQuery(long seed, int heads, int dim, int l, int layer) {
            this.heads = heads;
            this.dim = dim;
            this.l = l;
            this.layer = layer;
            var random = new Random(seed);
            q = new float[heads * dim];
            codes = new int[heads * l];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) random.nextGaussian();
            }
            for (int i = 0; i < codes.length; i++) {
                codes[i] = random.nextInt(1 << 10);
            }
        }

        AttentionQuery.Encoder encode(WorkerEndpoint worker, long sequenceId) {
            var query = worker.newQuery(sequenceId, layer, 100, heads, dim, 10, l);
            for (int h = 0; h < heads; h++) {
                query.kvHead(h, h % 8).query(h, q, h * dim).codes(h, codes, h * l);
            }
            return query;
        }

        /** Asserts the reply is what {@link CheckableShard} computes for this query. */
        void check(PartialStates.Decoder reply, long sequenceId, int blockSum) {
            assertEquals(sequenceId, reply.sequenceId());
            assertEquals(layer, reply.layer());
            assertEquals(heads, reply.headCount());
            assertEquals(dim, reply.headDim());
            for (int h = 0; h < heads; h++) {
                float sum = 0;
                for (int i = 0; i < dim; i++) {
                    sum += q[h * dim + i];
                    assertEquals(2 * q[h * dim + i] + layer, reply.o(h, i));
                }
                assertEquals(sum, reply.m(h));
                assertEquals(h % 8 + 1, reply.l(h));
                assertEquals(codes[h * l] + blockSum, reply.nnz(h));
            }
        }
    }

    /** A UDP port free on the loopback right now. */
    static int freeUdpPort() {
        try (var socket = new DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String udp(int port) {
        return "aeron:udp?endpoint=127.0.0.1:" + port;
    }
}
