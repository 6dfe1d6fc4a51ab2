package magicpig.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import magicpig.attention.AttentionSettings;
import magicpig.model.SyntheticModels;
import magicpig.sampling.SamplingSettings;
import magicpig.worker.GenerationRequest;
import org.junit.jupiter.api.Test;

/** A node's attention settings are generate's: the same defaults, the same keys, the same block cut. */
class PlacementPolicyTest {
    static Config magicpig(String attention) {
        return ConfigFactory.parseString("magicpig.attention { " + attention + " }")
                .withFallback(ConfigFactory.parseResources(ClusterNode.DEFAULTS)).resolve().getConfig("magicpig");
    }

    @Test
    void aNodesDefaultsAreGeneratesDefaultsWithSmallerBlocks() {
        // so that `serve` and `generate --attention magicpig` sample the same keys unless told otherwise
        AttentionSettings node = PlacementPolicy.defaults(magicpig("mode = magicpig"));
        assertEquals(AttentionSettings.magicPig().withBlockTokens(4096), node);
    }

    @Test
    void everyKeyIsGeneratesFlagOfTheSameName() {
        Map<String, String> flags = Map.of("attention", "magicpig", "lsh-k", "7", "lsh-l", "33", "lsh-threshold", "3", "sink", "2", "local", "40",
                "dense-layers", "0,2", "budget", "5%", "seed", "99", "max-static", "60");
        AttentionSettings generate = AttentionSettings.fromFlags(new java.util.HashMap<>(Map.of("block-tokens", "128")))
                .consume(new java.util.HashMap<>(flags));
        AttentionSettings node = PlacementPolicy.defaults(magicpig("mode = magicpig, lsh-k = 7, lsh-l = 33, lsh-threshold = 3, sink = 2, "
                + "local = 40, dense-layers = \"0,2\", budget = \"5%\", seed = 99, max-static = 60, block-tokens = 128"));
        assertEquals(generate, node);
    }

    @Test
    void aBadValueNamesTheSetting() {
        var e = assertThrows(IllegalArgumentException.class, () -> PlacementPolicy.defaults(magicpig("block-tokens = 70000")));
        assertTrue(e.getMessage().startsWith("magicpig.attention: --block-tokens"), e.getMessage());
    }

    @Test
    void blocksAreCutAtTheRequestsBlockSize() {
        var policy = PlacementPolicy.from(magicpig("mode = magicpig, sink = 4, local = 16, block-tokens = 100"),
                SyntheticModels.shape("tiny"));
        int[] prompt = new int[270]; // 250 offloaded
        var request = new GenerationRequest("r", prompt, 4, SamplingSettings.GREEDY, Map.of());
        assertEquals(List.of("0-100", "100-200", "200-250"), policy.blocks(request).stream().map(r -> r[0] + "-" + r[1]).toList());
        var own = new GenerationRequest("r", prompt, 4, SamplingSettings.GREEDY, Map.of("block-tokens", "200"));
        assertEquals(List.of("0-200", "200-250"), policy.blocks(own).stream().map(r -> r[0] + "-" + r[1]).toList());
        var dense = new GenerationRequest("r", prompt, 4, SamplingSettings.GREEDY, Map.of("attention", "dense"));
        assertTrue(policy.blocks(dense).isEmpty());
    }
}
