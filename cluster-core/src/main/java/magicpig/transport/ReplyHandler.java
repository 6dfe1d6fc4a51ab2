package magicpig.transport;

import magicpig.wire.BlockAck;
import magicpig.wire.PartialStates;

/**
 * Receives the replies a {@link WorkerEndpoint} collects, on the thread that polls it. The
 * decoders are valid only during the call. Error replies do not come here: they surface as a
 * {@link ShardErrorException} from the poll or await that received them.
 */
@FunctionalInterface
public interface ReplyHandler {

    /** The partial states of one query, from {@code shard}; merge them into the step's accumulator. */
    void onPartialStates(ShardLink shard, PartialStates.Decoder reply);

    /** A transfer was stored or a free carried out. */
    default void onBlockAck(ShardLink shard, BlockAck.Decoder ack) {}
}
