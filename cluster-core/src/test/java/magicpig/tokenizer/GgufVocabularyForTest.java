package magicpig.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Just enough GGUF (v3) to read the tokenizer metadata of a small test file: the key/value
 * section, scalars and arrays, no tensors. The project's real GGUF reader lives elsewhere; this one
 * only lets the tokenizer tests feed GGUF vocabularies through {@code fromVocabulary}.
 */
final class GgufVocabularyForTest {

    private GgufVocabularyForTest() {
    }

    static Map<String, Object> metadata(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (in.getInt() != 0x46554747) throw new IOException(file + " is not GGUF");
        in.getInt(); // version
        in.getLong(); // tensor count
        long kvCount = in.getLong();
        Map<String, Object> out = new HashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = string(in);
            out.put(key, value(in, in.getInt()));
        }
        return out;
    }

    private static Object value(ByteBuffer in, int type) {
        return switch (type) {
            case 0, 1 -> (int) in.get();
            case 2, 3 -> (int) in.getShort();
            case 4, 5 -> in.getInt();
            case 6 -> in.getFloat();
            case 7 -> in.get() != 0;
            case 8 -> string(in);
            case 9 -> {
                int elementType = in.getInt();
                int n = Math.toIntExact(in.getLong());
                Object[] values = new Object[n];
                for (int i = 0; i < n; i++) values[i] = value(in, elementType);
                yield List.of(values);
            }
            case 10, 11 -> in.getLong();
            case 12 -> in.getDouble();
            default -> throw new IllegalStateException("GGUF value type " + type);
        };
    }

    private static String string(ByteBuffer in) {
        byte[] b = new byte[Math.toIntExact(in.getLong())];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    static String[] strings(Map<String, Object> meta, String key) {
        return ((List<Object>) meta.get(key)).stream().map(String.class::cast).toArray(String[]::new);
    }

    @SuppressWarnings("unchecked")
    static float[] floats(Map<String, Object> meta, String key) {
        List<Object> list = (List<Object>) meta.get(key);
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) out[i] = (Float) list.get(i);
        return out;
    }

    @SuppressWarnings("unchecked")
    static int[] ints(Map<String, Object> meta, String key) {
        List<Object> list = (List<Object>) meta.get(key);
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) out[i] = (Integer) list.get(i);
        return out;
    }
}
