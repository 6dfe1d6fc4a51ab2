package magicpig.worker;

import magicpig.sampling.SamplingSettings;
import magicpig.wire.ClusterMessage;
import magicpig.worker.remote.Placement;

/**
 * Everything a worker needs to run one sequence.
 *
 * @param prompt    prompt token ids, BOS included when the model wants one
 * @param maxTokens tokens to generate at most
 * @param attention decode attention settings in flag form ("dense", or MagicPIG/baseline settings)
 * @param placement where the offloaded tokens live (MagicPIG on attention shards), or null: the
 *                  attention then runs in the worker's process
 * @param logits    also report the logits every token was sampled from ({@link SequenceEvent.Logits}):
 *                  a diagnostic, for checking the cluster against the in-process engine. It costs a
 *                  copy of the vocabulary-sized row and a message per token, so it is off by default.
 */
public record GenerationRequest(String sequenceId, int[] prompt, int maxTokens, SamplingSettings sampling,
                                java.util.Map<String, String> attention, Placement placement, boolean logits) implements ClusterMessage {

    public GenerationRequest(String sequenceId, int[] prompt, int maxTokens, SamplingSettings sampling, java.util.Map<String, String> attention) {
        this(sequenceId, prompt, maxTokens, sampling, attention, null, false);
    }

    public GenerationRequest(String sequenceId, int[] prompt, int maxTokens, SamplingSettings sampling, java.util.Map<String, String> attention,
                             Placement placement) {
        this(sequenceId, prompt, maxTokens, sampling, attention, placement, false);
    }

    public GenerationRequest withPlacement(Placement p) {
        return new GenerationRequest(sequenceId, prompt, maxTokens, sampling, attention, p, logits);
    }

    /** The same request, reporting the logits of every step. */
    public GenerationRequest withLogits() {
        return new GenerationRequest(sequenceId, prompt, maxTokens, sampling, attention, placement, true);
    }
}
