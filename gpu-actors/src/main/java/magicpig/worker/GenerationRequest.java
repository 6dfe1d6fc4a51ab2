package magicpig.worker;

import magicpig.sampling.SamplingSettings;
import magicpig.wire.ClusterMessage;

/**
 * Everything a worker needs to run one sequence.
 *
 * @param prompt    prompt token ids, BOS included when the model wants one
 * @param maxTokens tokens to generate at most
 * @param attention decode attention settings in flag form ("dense", or MagicPIG/baseline settings)
 */
public record GenerationRequest(String sequenceId, int[] prompt, int maxTokens, SamplingSettings sampling,
                                java.util.Map<String, String> attention) implements ClusterMessage {}
