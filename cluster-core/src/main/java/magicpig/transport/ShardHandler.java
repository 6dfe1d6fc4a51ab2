package magicpig.transport;

import magicpig.wire.AttentionQuery;
import magicpig.wire.PartialStates;
import org.agrona.DirectBuffer;

/**
 * What an attention shard does with the requests its {@link ShardEndpoint} decodes. Called on the
 * endpoint's duty-cycle thread, one call at a time; the buffers passed in are valid only during
 * the call. A method that throws makes the endpoint answer the request with an
 * {@link magicpig.wire.ErrorMessage} ({@code HANDLER_FAILED}) carrying the exception's text.
 */
public interface ShardHandler {

    /**
     * Computes the partial states of {@code query}. {@code reply} is already wrapped for the query's
     * head count and head dim, with correlation id, sequence id and layer set; fill each head's
     * m, l, nnz and o. The endpoint times the call and sends the reply when it returns.
     */
    void onQuery(AttentionQuery.Decoder query, PartialStates.Encoder reply);

    /**
     * A chunked transfer was reassembled: {@code length} bytes at {@code offset}. Copy what is kept;
     * the endpoint acknowledges with a {@link magicpig.wire.BlockAck} when this returns.
     */
    default void onBlock(ReceivedBlock block, DirectBuffer payload, int offset, int length) {
        throw new UnsupportedOperationException("this shard does not accept block transfers");
    }

    /**
     * Releases a block, or every block of the sequence when {@code blockId} is
     * {@link AttentionQuery#ALL_BLOCKS}; returns the bytes released (reported in the ack).
     */
    default long onBlockFree(long sequenceId, int blockId) {
        return 0;
    }
}
