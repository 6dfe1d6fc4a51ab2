package magicpig.model.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;
import magicpig.tensor.GgmlType;

/**
 * One {@code .safetensors} file, memory-mapped read-only. The layout: an 8-byte little-endian
 * header length N, N bytes of JSON mapping each tensor name to {dtype, shape, data_offsets [begin,
 * end)} (offsets relative to the data section at 8 + N) plus an optional {@code __metadata__} map of
 * strings, then the data. Opening checks the whole header against the file, so a truncated or
 * inconsistent file fails here with a message naming it rather than later with a wild read.
 *
 * <p>Tensors are handed out as slices of the mapping (zero copy); they stay valid until
 * {@link #close}. The mapping belongs to a shared arena, so any thread may read them.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The longest header accepted; the reference implementation refuses more too. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final LinkedHashMap<String, SafetensorsEntry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, LinkedHashMap<String, SafetensorsEntry> entries,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Maps and checks the file; throws IllegalArgumentException, naming the file, when it is malformed. */
    public static SafetensorsFile open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw bad(file, "only " + size + " bytes, too short to hold the 8-byte header length");
            }
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLength = mapped.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw bad(file, "header length " + Long.toUnsignedString(headerLength) + " is absurd (limit "
                        + MAX_HEADER_BYTES + " bytes); not a safetensors file?");
            }
            if (headerLength > size - 8) {
                throw bad(file, "header length " + headerLength + " runs past the end of the " + size
                        + "-byte file (truncated, or not a safetensors file?)");
            }
            byte[] header = mapped.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment dataSection = mapped.asSlice(8 + headerLength);
            Map<String, String> metadata = new LinkedHashMap<>();
            LinkedHashMap<String, SafetensorsEntry> entries = parseHeader(file, header, dataSection.byteSize(), metadata);
            return new SafetensorsFile(file, arena, dataSection, entries, Collections.unmodifiableMap(metadata));
        } catch (Throwable t) {
            arena.close();
            throw t;
        }
    }

    private static LinkedHashMap<String, SafetensorsEntry> parseHeader(Path file, byte[] header, long dataBytes,
                                                             Map<String, String> metadata) {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JsonProcessingException e) {
            throw bad(file, "malformed JSON header: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw bad(file, "unreadable JSON header: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw bad(file, "the header is not a JSON object");
        }
        LinkedHashMap<String, SafetensorsEntry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals(METADATA_KEY)) {
                readMetadata(file, node, metadata);
                continue;
            }
            entries.put(name, readEntry(file, name, node, dataBytes));
        }
        checkNoOverlap(file, entries.values());
        return entries;
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> metadata) {
        if (node.isNull()) return;
        if (!node.isObject()) throw bad(file, METADATA_KEY + " must be an object of strings");
        for (Map.Entry<String, JsonNode> m : node.properties()) {
            if (!m.getValue().isTextual()) {
                throw bad(file, METADATA_KEY + " value '" + m.getKey() + "' is not a string");
            }
            metadata.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static SafetensorsEntry readEntry(Path file, String name, JsonNode node, long dataBytes) {
        String what = "tensor '" + name + "'";
        if (!node.isObject()) throw bad(file, what + " is not described by a JSON object");
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw bad(file, what + " has no dtype string");
        String dtype = dtypeNode.textValue();
        long[] shape = longs(file, what, "shape", node.get("shape"), -1);
        long[] offsets = longs(file, what, "data_offsets", node.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw bad(file, what + " has data_offsets [" + begin + ", " + end + ") that end before they begin");
        }
        if (end > dataBytes) {
            throw bad(file, what + " has data_offsets [" + begin + ", " + end + ") past the end of the " + dataBytes
                    + " data bytes (truncated file?)");
        }
        SafetensorsEntry entry = new SafetensorsEntry(name, dtype, shape, begin, end);
        SafetensorsDtype known = SafetensorsDtype.parse(dtype);
        if (known != null) {
            long expected;
            try {
                expected = known.bytes(entry.elements());
            } catch (ArithmeticException e) {
                throw bad(file, what + " has a shape whose size overflows: " + entry);
            }
            if (expected != entry.byteSize()) {
                throw bad(file, what + " (" + dtype + " " + Arrays.toString(shape) + ") should hold "
                        + (expected < 0 ? "a whole number of" : String.valueOf(expected)) + " bytes, but its data_offsets span "
                        + entry.byteSize());
            }
        }
        return entry;
    }

    private static long[] longs(Path file, String what, String field, JsonNode node, int expectedLength) {
        if (node == null || !node.isArray()) throw bad(file, what + " has no " + field + " array");
        if (expectedLength >= 0 && node.size() != expectedLength) {
            throw bad(file, what + " " + field + " should have " + expectedLength + " values, has " + node.size());
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw bad(file, what + " " + field + " holds " + v + ", not a non-negative integer");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static void checkNoOverlap(Path file, Iterable<SafetensorsEntry> all) {
        List<SafetensorsEntry> sorted = new ArrayList<>();
        for (SafetensorsEntry e : all) {
            if (e.byteSize() > 0) sorted.add(e);
        }
        sorted.sort(Comparator.comparingLong(SafetensorsEntry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            SafetensorsEntry a = sorted.get(i - 1);
            SafetensorsEntry b = sorted.get(i);
            if (b.begin() < a.end()) {
                throw bad(file, "tensors '" + a.name() + "' [" + a.begin() + ", " + a.end() + ") and '" + b.name()
                        + "' [" + b.begin() + ", " + b.end() + ") overlap");
            }
        }
    }

    private static IllegalArgumentException bad(Path file, String problem) {
        return new IllegalArgumentException("safetensors file " + file + ": " + problem);
    }

    public Path path() {
        return path;
    }

    /** The {@code __metadata__} strings (empty when the file has none). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in header order. */
    public SequencedSet<String> names() {
        return Collections.unmodifiableSequencedSet(entries.sequencedKeySet());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** The header's description of a tensor, whatever its dtype. */
    public SafetensorsEntry entry(String name) {
        SafetensorsEntry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("safetensors file " + path + " has no tensor '" + name + "'");
        return e;
    }

    /**
     * A tensor's bytes as a slice of the mapping. Only F32, F16 and BF16 tensors are handed out;
     * any other dtype is an error naming the tensor, its dtype and the file.
     */
    public SafetensorsTensor tensor(String name) {
        SafetensorsEntry e = entry(name);
        SafetensorsDtype dtype = e.knownDtype();
        GgmlType type = dtype == null ? null : dtype.engineType();
        if (type == null) {
            throw new IllegalArgumentException("safetensors file " + path + ": tensor '" + name + "' has dtype " + e.dtype()
                    + ", which is not supported (only F32, F16 and BF16 are)");
        }
        return new SafetensorsTensor(name, type, e.shape(), data.asSlice(e.begin(), e.byteSize()), path);
    }

    /** Unmaps the file; every tensor handed out becomes unreadable. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + entries.size() + " tensors]";
    }
}
