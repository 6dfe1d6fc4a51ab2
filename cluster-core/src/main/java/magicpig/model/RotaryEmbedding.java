package magicpig.model;

/**
 * Rotary position embedding (RoPE) with Llama 3's frequency scaling, in both layouts: adjacent pairs
 * (2i, 2i+1), as llama2.c and GGUF's llama architecture store q/k, and half-split (i, i + d/2), as
 * Hugging Face checkpoints do. Pair i rotates by angle pos * freq_i, freq_i = theta^(-2i/d).
 */
public final class RotaryEmbedding {
    private final int headDim;
    private final boolean halfSplit;
    private final double[] freqs;

    public RotaryEmbedding(LlamaConfig.Rope rope, int headDim) {
        this.headDim = headDim;
        this.halfSplit = rope.halfSplit();
        int half = headDim / 2;
        if (rope.frequencyFactors() != null && rope.frequencyFactors().length != half) {
            throw new IllegalArgumentException("RoPE frequency factors hold " + rope.frequencyFactors().length + " values, expected " + half);
        }
        this.freqs = new double[half];
        for (int i = 0; i < half; i++) {
            double freq = 1.0 / Math.pow(rope.theta(), (2.0 * i) / headDim);
            freqs[i] = rope.scaling() == null ? freq : llama3Scaled(freq, rope.scaling());
            if (rope.frequencyFactors() != null) freqs[i] /= rope.frequencyFactors()[i];
        }
    }

    /** Llama 3.1's rule: keep high frequencies, divide low ones by factor, blend in between. */
    static double llama3Scaled(double freq, LlamaConfig.Llama3Scaling s) {
        double wavelen = 2 * Math.PI / freq;
        double lowFreqWavelen = s.originalContextLength() / s.lowFreqFactor();
        double highFreqWavelen = s.originalContextLength() / s.highFreqFactor();
        if (wavelen < highFreqWavelen) return freq;
        if (wavelen > lowFreqWavelen) return freq / s.factor();
        double smooth = (s.originalContextLength() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * freq / s.factor() + smooth * freq;
    }

    /** The frequency of each pair i, Llama 3 scaling and frequency factors applied (a copy; a GPU backend uploads it). */
    public double[] frequencies() {
        return freqs.clone();
    }

    /** Fills cos/sin (headDim/2 values each) for one position; shared by every head and layer. */
    public void angles(int pos, float[] cos, float[] sin) {
        for (int i = 0; i < freqs.length; i++) {
            float angle = (float) (pos * freqs[i]);
            cos[i] = (float) Math.cos(angle);
            sin[i] = (float) Math.sin(angle);
        }
    }

    /** Rotates nHeads consecutive heads of x, starting at off, by the angles of one position. */
    public void rotate(float[] x, int off, int nHeads, float[] cos, float[] sin) {
        int half = headDim / 2;
        for (int h = 0; h < nHeads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                int a = halfSplit ? base + i : base + 2 * i;
                int b = halfSplit ? base + i + half : base + 2 * i + 1;
                float x0 = x[a], x1 = x[b];
                x[a] = x0 * cos[i] - x1 * sin[i];
                x[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}
