package magicpig.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a file can be bad gives a GgufFormatException that names the file and the problem. */
class GgufCorruptFileTest {
    private static final String Q = "blk.0.attn_q.weight";

    @TempDir
    Path dir;
    private byte[] good;

    @BeforeEach
    void writeAGoodFile() throws IOException {
        float[] q = new float[2 * 64];
        for (int i = 0; i < q.length; i++) q[i] = (float) Math.sin(i);
        Path path = dir.resolve("good.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putUInt32("test.a", 1)
                .putUInt32("test.b", 2)
                .putBool("test.flag", true)
                .putArray("tokenizer.ggml.tokens", GgufArray.ofStrings("a", "bb", "ccc"))
                .addTensor(Q, GgmlType.Q8_0, q, 64, 2)
                .addTensor("norm", GgmlType.F32, new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 8)
                .write(path);
        good = Files.readAllBytes(path);
        try (GgufFile f = GgufFile.open(path)) {
            assertEquals(f.dataOffset() + f.tensorInfos().get(1).offset() + 32, good.length, "the last tensor ends the file");
        }
    }

    /** Writes good bytes changed by edit, opens them and reads every tensor; returns the error's message. */
    private String failure(String name, Consumer<ByteBuffer> edit) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(good.clone()).order(ByteOrder.LITTLE_ENDIAN);
        edit.accept(bytes);
        return failure(name, bytes.array());
    }

    private String failure(String name, byte[] bytes) throws IOException {
        Path path = dir.resolve(name);
        Files.write(path, bytes);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> readEverything(path), name + " should be refused");
        assertTrue(e.getMessage().startsWith(path + ": "), "the message names the file: " + e.getMessage());
        return e.getMessage().substring(path.toString().length() + 2);
    }

    private static void readEverything(Path path) throws IOException {
        try (GgufFile f = GgufFile.open(path)) {
            for (String name : f.tensorNames()) f.vector(name);
        }
    }

    /** Position of the first occurrence of s (as UTF-8) in the good file. */
    private int find(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + b.length <= good.length; i++) {
            if (Arrays.equals(good, i, i + b.length, b, 0, b.length)) return i;
        }
        throw new AssertionError(s + " not in the file");
    }

    /** Position of the n_dims field of a tensor info (right after its name). */
    private int tensorInfo(String name) {
        // the name also occurs nowhere earlier: metadata has no such strings
        return find(name) + name.length();
    }

    @Test
    void everyTruncationIsRefused() throws IOException {
        for (int cut = 0; cut < good.length; cut++) {
            String message = failure("cut" + cut + ".gguf", Arrays.copyOf(good, cut));
            boolean clear = cut < 4 ? message.equals("not a GGUF file: only " + cut + " bytes long")
                    : message.startsWith("truncated") || message.contains("(truncated or corrupt file)");
            if (!clear) fail("cut at " + cut + " of " + good.length + " bytes: unclear message '" + message + "'");
        }
    }

    @Test
    void notGguf() throws IOException {
        assertEquals("not a GGUF file: it starts with bytes 0x47 0x47 0x4D 0x4C where \"GGUF\" should be",
                failure("ggml.gguf", b -> b.put(0, "GGML".getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void versions() throws IOException {
        assertTrue(failure("v1.gguf", b -> b.putInt(4, 1)).startsWith("GGUF version 1 is not supported (only versions 2 and 3)"));
        assertEquals("unsupported GGUF version 4 (supported: 2 and 3)", failure("v4.gguf", b -> b.putInt(4, 4)));
        assertEquals("big-endian GGUF file (version 3 written byte-swapped): only little-endian files are supported",
                failure("be.gguf", b -> b.putInt(4, Integer.reverseBytes(3))));
        // Version 2 has version 3's layout for little-endian files.
        byte[] v2 = good.clone();
        ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 2);
        Path path = dir.resolve("v2.gguf");
        Files.write(path, v2);
        try (GgufFile f = GgufFile.open(path)) {
            assertEquals(2, f.version());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, f.vector("norm"));
        }
    }

    @Test
    void unsupportedTensorTypeIsNamedWhenTheTensorIsAskedFor() throws IOException {
        int type = tensorInfo(Q) + 4 + 2 * 8;
        byte[] q5k = good.clone();
        ByteBuffer.wrap(q5k).order(ByteOrder.LITTLE_ENDIAN).putInt(type, 13);
        Path path = dir.resolve("q5k.gguf");
        Files.write(path, q5k);
        try (GgufFile f = GgufFile.open(path)) {
            assertEquals("llama", f.metadata().getString("general.architecture"), "the rest of the file stays readable");
            assertEquals("Q5_K", f.tensorInfos().get(0).typeName());
            String expected = path + ": tensor blk.0.attn_q.weight has type Q5_K (13), which is not supported; supported: F32, F16, Q4_0, Q8_0, Q4_K, Q6_K, BF16";
            assertEquals(expected, assertThrows(GgufFormatException.class, () -> f.tensor(Q)).getMessage());
            assertEquals(expected, assertThrows(GgufFormatException.class, () -> f.matrix(Q)).getMessage());
        }
        assertTrue(failure("type99.gguf", b -> b.putInt(type, 99)).startsWith("tensor blk.0.attn_q.weight has type unknown (99), which is not supported"));
    }

    @Test
    void impossibleCountsAndLengths() throws IOException {
        assertEquals("tensor count 1099511627776 at offset 8 is impossible: that many need at least 32 bytes each, and only "
                + (good.length - 16) + " bytes follow (truncated or corrupt file)", failure("tensors.gguf", b -> b.putLong(8, 1L << 40)));
        assertTrue(failure("kvs.gguf", b -> b.putLong(16, -5)).startsWith("metadata entry count 18446744073709551611 at offset 16 is impossible"));
        assertTrue(failure("key.gguf", b -> b.putLong(24, 1L << 60)).startsWith("key of metadata entry 0 at offset 24 claims to be 1152921504606846976 bytes long"));
        int tokens = find("tokenizer.ggml.tokens") + "tokenizer.ggml.tokens".length() + 4 + 4; // past the value type and element type
        assertTrue(failure("array.gguf", b -> b.putLong(tokens, 1L << 33))
                .startsWith("length of metadata key 'tokenizer.ggml.tokens' 8589934592 at offset " + tokens + " is impossible"));
        int element = tokens + 8; // the first string's length
        assertTrue(failure("element.gguf", b -> b.putLong(element, 1000))
                .startsWith("element of metadata key 'tokenizer.ggml.tokens' at offset " + element + " claims to be 1000 bytes long"));
    }

    @Test
    void badMetadataEntries() throws IOException {
        int b = find("test.b");
        assertEquals("metadata key 'test.a' appears twice", failure("dup.gguf", bb -> bb.put(b + 5, (byte) 'a')));
        int typeOfA = find("test.a") + "test.a".length();
        assertEquals("metadata key 'test.a' has unknown value type 13", failure("vtype.gguf", bb -> bb.putInt(typeOfA, 13)));
        int flag = find("test.flag") + "test.flag".length() + 4;
        assertEquals("metadata key 'test.flag' is a bool of value 2 (must be 0 or 1) at offset " + flag, failure("bool.gguf", bb -> bb.put(flag, (byte) 2)));
    }

    @Test
    void badTensorInfos() throws IOException {
        int q = tensorInfo(Q);
        assertEquals("tensor 'blk.0.attn_q.weight' has 5 dimensions; GGML allows 1 to 4", failure("dims.gguf", b -> b.putInt(q, 5)));
        assertEquals("tensor 'blk.0.attn_q.weight' has rows of 48 values, not a multiple of the 32-value blocks of Q8_0",
                failure("rows.gguf", b -> b.putLong(q + 4, 48)));
        int normOffset = tensorInfo("norm") + 4 + 8 + 4;
        assertTrue(failure("beyond.gguf", b -> b.putLong(normOffset, 1 << 20))
                .startsWith("truncated: tensor 'norm' (F32 [8]) needs bytes "), "tensor past the end");
        assertTrue(failure("misaligned.gguf", b -> b.putLong(normOffset, b.getLong(normOffset) + 4))
                .startsWith("tensor 'norm' starts at data offset "), "misaligned");
        assertTrue(failure("negative.gguf", b -> b.putLong(q + 4 + 8, -2)).startsWith("tensor 'blk.0.attn_q.weight' has dimension 1 of 18446744073709551614"));
    }

    @Test
    void alignmentMustBeAPowerOfTwo() throws IOException {
        Path path = dir.resolve("align.gguf");
        new GgufWriter().putUInt32("general.alignment", 16).addTensor("x", GgmlType.F32, new float[] {1}, 1).write(path);
        byte[] bytes = Files.readAllBytes(path);
        int value = 8 + 8 + 8 + 8 + "general.alignment".length() + 4;
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(value, 24);
        assertEquals("general.alignment is 24, expected a power of two", failure("align24.gguf", bytes));
    }

    /** Random damage to the header never escapes as anything but a GgufFormatException. */
    @Test
    void randomDamageIsAlwaysAClearError() throws IOException {
        long dataStart;
        try (GgufFile f = GgufFile.open(dir.resolve("good.gguf"))) {
            dataStart = f.dataOffset();
        }
        Random rnd = new Random(2024);
        Path path = dir.resolve("fuzz.gguf");
        for (int trial = 0; trial < 300; trial++) {
            byte[] bytes = good.clone();
            int flips = 1 + rnd.nextInt(3);
            StringBuilder what = new StringBuilder();
            for (int k = 0; k < flips; k++) {
                int at = rnd.nextInt((int) dataStart);
                bytes[at] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : bytes[at] ^ (1 << rnd.nextInt(8)));
                what.append(at).append(' ');
            }
            Files.write(path, bytes);
            try {
                readEverything(path);
            } catch (GgufFormatException expected) {
                assertTrue(expected.getMessage().startsWith(path + ": "));
            } catch (RuntimeException | Error e) {
                throw new AssertionError("trial " + trial + ", bytes changed at " + what + "escaped as " + e, e);
            }
        }
    }
}
