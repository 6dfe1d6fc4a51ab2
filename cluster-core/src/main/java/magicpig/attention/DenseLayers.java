package magicpig.attention;

import java.util.Arrays;

/**
 * Which layers stay exact under a sparse method (MAGICPIG.md step 1: Llama-3.1-8B keeps layers 0
 * and 16 dense). Spec strings: {@code none}, {@code all}, {@code everyN} (also {@code every N},
 * {@code every-N}: layers 0, N, 2N, ...) or a list such as {@code 0,16}.
 *
 * @param every  N of "every N from 0", or 0 when a list is given
 * @param layers the listed layers, ascending, when {@code every == 0}
 */
public record DenseLayers(int every, int[] layers) {

    public DenseLayers {
        if (every < 0) throw new IllegalArgumentException("--dense-layers: every N needs N >= 1, got " + every);
        layers = layers == null ? new int[0] : layers.clone();
        Arrays.sort(layers);
        for (int l : layers) if (l < 0) throw new IllegalArgumentException("--dense-layers: layer indices cannot be negative, got " + l);
    }

    public static final DenseLayers NONE = new DenseLayers(0, new int[0]);
    public static final DenseLayers ALL = new DenseLayers(1, new int[0]);

    public static DenseLayers every(int n) {
        if (n < 1) throw new IllegalArgumentException("--dense-layers: every N needs N >= 1, got " + n);
        return new DenseLayers(n, new int[0]);
    }

    public static DenseLayers of(int... layers) {
        return new DenseLayers(0, layers);
    }

    public static DenseLayers parse(String spec) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.isEmpty() || s.equals("none")) return NONE;
        if (s.equals("all")) return ALL;
        if (s.startsWith("every")) {
            String n = s.substring(5).replace("-", "").replace("_", "").trim();
            try {
                return every(Integer.parseInt(n));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--dense-layers: expected everyN (e.g. every16), got '" + spec + "'");
            }
        }
        String[] parts = s.split(",");
        int[] layers = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                layers[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--dense-layers: expected none, all, everyN or a list like 0,16; got '" + spec + "'");
            }
        }
        return of(layers);
    }

    public boolean contains(int layer) {
        if (every > 0) return layer % every == 0;
        return Arrays.binarySearch(layers, layer) >= 0;
    }

    /** Checks the listed layers against a model's depth. */
    public void validate(int modelLayers) {
        for (int l : layers) {
            if (l >= modelLayers) {
                throw new IllegalArgumentException("--dense-layers: layer " + l + " does not exist, the model has " + modelLayers + " layers (0.." + (modelLayers - 1) + ")");
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DenseLayers d && d.every == every && Arrays.equals(d.layers, layers);
    }

    @Override
    public int hashCode() {
        return 31 * every + Arrays.hashCode(layers);
    }

    /** The spec string that parses back to this. */
    @Override
    public String toString() {
        if (every == 1) return "all";
        if (every > 0) return "every" + every;
        if (layers.length == 0) return "none";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < layers.length; i++) b.append(i == 0 ? "" : ",").append(layers[i]);
        return b.toString();
    }
}
