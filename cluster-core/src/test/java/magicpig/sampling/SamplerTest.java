package magicpig.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {1f, 3f, 2.5f, -1f, 0f, 2.9f};

    @Test
    void greedyIsArgmax() {
        assertEquals(1, new Sampler(SamplingSettings.GREEDY, LOGITS.length).sample(LOGITS));
    }

    @Test
    void topKOneIsArgmaxAtAnyTemperature() {
        Sampler s = new Sampler(new SamplingSettings(5f, 1, 1f, 0f, 9), LOGITS.length);
        for (int i = 0; i < 50; i++) assertEquals(1, s.sample(LOGITS));
    }

    @Test
    void topKAndTopPAndMinPRestrictTheDraw() {
        assertEquals(Set.of(1, 5), draws(new SamplingSettings(1f, 2, 1f, 0f, 1)));
        // probabilities at T=1: tokens 1, 5, 2 hold ~0.33, 0.30, 0.20: top-p 0.6 keeps the first two
        assertEquals(Set.of(1, 5), draws(new SamplingSettings(1f, 0, 0.6f, 0f, 2)));
        // min-p 0.5: keep tokens with p >= 0.5 * p(1): exp(2.5-3) = 0.61 passes, exp(1-3) = 0.14 does not
        assertEquals(Set.of(1, 2, 5), draws(new SamplingSettings(1f, 0, 1f, 0.5f, 3)));
    }

    @Test
    void sameSeedSameDraws() {
        Sampler a = new Sampler(new SamplingSettings(1f, 0, 1f, 0f, 77), LOGITS.length);
        Sampler b = new Sampler(new SamplingSettings(1f, 0, 1f, 0f, 77), LOGITS.length);
        for (int i = 0; i < 100; i++) assertEquals(a.sample(LOGITS), b.sample(LOGITS));
    }

    @Test
    void frequenciesFollowTheSoftmax() {
        Sampler s = new Sampler(new SamplingSettings(1f, 0, 1f, 0f, 5), 2);
        float[] logits = {0f, (float) Math.log(3)}; // p = 0.25, 0.75
        int ones = 0, n = 20000;
        for (int i = 0; i < n; i++) ones += s.sample(logits);
        assertEquals(0.75, ones / (double) n, 0.02);
    }

    @Test
    void impossibleSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new SamplingSettings(-1f, 0, 1f, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingSettings(1f, -2, 1f, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingSettings(1f, 0, 0f, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> new SamplingSettings(1f, 0, 1f, 1.5f, 0));
    }

    private static Set<Integer> draws(SamplingSettings settings) {
        Sampler s = new Sampler(settings, LOGITS.length);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) seen.add(s.sample(LOGITS));
        assertTrue(!seen.isEmpty());
        return seen;
    }
}
