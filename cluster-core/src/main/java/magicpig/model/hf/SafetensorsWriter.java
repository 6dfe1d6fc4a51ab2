package magicpig.model.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import magicpig.tensor.GgmlType;

/**
 * Collects tensors and writes them as one {@code .safetensors} file: tensors in the order added,
 * back to back, the JSON header padded with spaces so the data starts 8-byte aligned (as the
 * reference implementation does). Content can be given as bytes, as f32 values to encode, or as a
 * callback that fills the tensor's bytes in place, so a large tensor never needs a heap copy.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Fills a tensor's bytes; dst is exactly the tensor's byte size and starts zeroed. */
    @FunctionalInterface
    public interface Content {
        void fill(MemorySegment dst);
    }

    private record Pending(String name, String dtype, long[] shape, long bytes, Content content) {}

    private final List<Pending> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a {@code __metadata__} string (for example "format" → "pt", which transformers expects). */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor of any dtype spelling from its bytes; the size is checked for dtypes this reader knows. */
    public SafetensorsWriter add(String name, String dtype, long[] shape, MemorySegment bytes) {
        return add(name, dtype, shape, bytes.byteSize(), dst -> MemorySegment.copy(bytes, 0, dst, 0, bytes.byteSize()));
    }

    /** Adds a tensor of any dtype spelling from its bytes. */
    public SafetensorsWriter add(String name, String dtype, long[] shape, byte[] bytes) {
        return add(name, dtype, shape, MemorySegment.ofArray(bytes.clone()));
    }

    /** Adds an F32, F16 or BF16 tensor whose bytes a callback writes. */
    public SafetensorsWriter add(String name, GgmlType type, long[] shape, Content content) {
        SafetensorsDtype dtype = SafetensorsDtype.of(type);
        return add(name, dtype.name(), shape, dtype.bytes(SafetensorsEntry.elementsOf(shape)), content);
    }

    /** Adds f32 values, stored as type (F32, F16 or BF16); values.length must match the shape. */
    public SafetensorsWriter add(String name, GgmlType type, long[] shape, float[] values) {
        if (SafetensorsEntry.elementsOf(shape) != values.length) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(shape) + " cannot hold "
                    + values.length + " values");
        }
        float[] copy = values.clone();
        return add(name, type, shape, dst -> FloatCodec.encode(type, copy, 0, copy.length, dst, 0));
    }

    private SafetensorsWriter add(String name, String dtype, long[] shape, long bytes, Content content) {
        if (name.equals(SafetensorsFile.METADATA_KEY)) throw new IllegalArgumentException(name + " is reserved");
        if (!names.add(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension: " + Arrays.toString(shape));
        }
        SafetensorsDtype known = SafetensorsDtype.parse(dtype);
        if (known != null && known.bytes(SafetensorsEntry.elementsOf(shape)) != bytes) {
            throw new IllegalArgumentException("tensor '" + name + "' (" + dtype + " " + Arrays.toString(shape) + ") needs "
                    + known.bytes(SafetensorsEntry.elementsOf(shape)) + " bytes, got " + bytes);
        }
        tensors.add(new Pending(name, dtype, shape.clone(), bytes, content));
        return this;
    }

    /** Bytes of all tensors added so far. */
    public long dataBytes() {
        long sum = 0;
        for (Pending p : tensors) sum += p.bytes;
        return sum;
    }

    /** Writes the file, replacing any file already there. */
    public void write(Path file) throws IOException {
        byte[] header = header();
        long total = 8 + header.length + dataBytes();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofConfined()) {
            MemorySegment out = channel.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
            out.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, header.length);
            MemorySegment.copy(header, 0, out, ValueLayout.JAVA_BYTE, 8, header.length);
            long at = 8 + header.length;
            for (Pending p : tensors) {
                p.content.fill(out.asSlice(at, p.bytes));
                at += p.bytes;
            }
            out.force();
        }
    }

    private byte[] header() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long at = 0;
        for (Pending p : tensors) {
            ObjectNode t = root.putObject(p.name);
            t.put("dtype", p.dtype);
            ArrayNode shape = t.putArray("shape");
            for (long d : p.shape) shape.add(d);
            t.putArray("data_offsets").add(at).add(at + p.bytes);
            at += p.bytes;
        }
        byte[] json = JSON.writeValueAsBytes(root);
        int padded = (json.length + 7) / 8 * 8;
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }
}
