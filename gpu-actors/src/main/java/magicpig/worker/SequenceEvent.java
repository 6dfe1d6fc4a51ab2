package magicpig.worker;

import magicpig.wire.ClusterMessage;

/** What a worker reports about a sequence it runs, in order, to the sequence's owner. */
public sealed interface SequenceEvent extends ClusterMessage {
    String sequenceId();

    /** The worker took the sequence; its prompt is being prefilled. */
    record Admitted(String sequenceId, String worker, int promptTokens) implements SequenceEvent {}

    /** One generated token; index counts from 0 and has no gaps. */
    record Token(String sequenceId, int index, int token) implements SequenceEvent {}

    /**
     * The logits the token with this index was sampled from (or the end of text: then no Token of
     * that index follows), sent just before it; only for requests that ask
     * ({@link GenerationRequest#logits()}).
     */
    record Logits(String sequenceId, int index, float[] logits) implements SequenceEvent {}

    /** Generation ended normally: reason is "stop" (end of text) or "length" (token limit or context full). */
    record Finished(String sequenceId, String reason, int promptTokens, int completionTokens) implements SequenceEvent {}

    /** The worker could not run or continue the sequence. */
    record Failed(String sequenceId, String error) implements SequenceEvent {}
}
