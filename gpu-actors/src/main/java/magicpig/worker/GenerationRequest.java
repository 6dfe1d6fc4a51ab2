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
 */
public record GenerationRequest(String sequenceId, int[] prompt, int maxTokens, SamplingSettings sampling,
                                java.util.Map<String, String> attention, Placement placement) implements ClusterMessage {

    public GenerationRequest(String sequenceId, int[] prompt, int maxTokens, SamplingSettings sampling, java.util.Map<String, String> attention) {
        this(sequenceId, prompt, maxTokens, sampling, attention, null);
    }

    public GenerationRequest withPlacement(Placement p) {
        return new GenerationRequest(sequenceId, prompt, maxTokens, sampling, attention, p);
    }
}
