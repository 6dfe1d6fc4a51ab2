package magicpig.sampling;

/**
 * How the next token is chosen from the logits.
 *
 * @param temperature 0 means greedy (argmax)
 * @param topK        keep the k most likely tokens; 0 = off
 * @param topP        keep the smallest set whose probability reaches p; 1 = off
 * @param minP        drop tokens below minP times the top probability; 0 = off
 * @param seed        random seed of the draw
 */
public record SamplingSettings(float temperature, int topK, float topP, float minP, long seed) {
    public static final SamplingSettings GREEDY = new SamplingSettings(0f, 0, 1f, 0f, 0L);

    public SamplingSettings {
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        if (!(minP >= 0f && minP <= 1f)) throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
    }

    public boolean greedy() {
        return temperature == 0f;
    }
}
