package magicpig.model.hf;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each malformed file fails on open with a message naming the file and the problem. */
class SafetensorsCorruptionTest {
    @TempDir
    Path tmp;

    @Test
    void truncatedData() throws Exception {
        Path file = tmp.resolve("full.safetensors");
        new SafetensorsWriter().add("w", GgmlType.F32, new long[] {4, 4}, new float[16]).write(file);
        byte[] all = Files.readAllBytes(file);
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 5));
        expect(cut, "tensor 'w' has data_offsets [0, 64) past the end of the 59 data bytes (truncated file?)");
    }

    @Test
    void headerLengthBeyondFile() throws Exception {
        expect(raw("long.safetensors", 1000, "{}"), "header length 1000 runs past the end of the 10-byte file");
    }

    @Test
    void absurdHeaderLength() throws Exception {
        expect(raw("absurd.safetensors", -2, "{}"), "header length 18446744073709551614 is absurd");
        expect(raw("huge.safetensors", 1L << 40, "{}"), "header length 1099511627776 is absurd");
    }

    @Test
    void tooShortForTheLength() throws Exception {
        Path file = tmp.resolve("tiny.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        expect(file, "only 3 bytes");
    }

    @Test
    void malformedJson() throws Exception {
        String json = "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]";
        expect(raw("bad.safetensors", json.length(), json), "malformed JSON header");
        expect(raw("notobj.safetensors", 2, "[]"), "the header is not a JSON object");
        String dup = "{\"w\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 0]}, \"w\": {}}";
        expect(raw("dup.safetensors", dup.length(), dup), "malformed JSON header: Duplicate field 'w'");
    }

    @Test
    void sizeNotMatchingShape() throws Exception {
        String json = "{\"w\": {\"dtype\": \"F16\", \"shape\": [2, 3], \"data_offsets\": [0, 10]}}";
        expect(raw("size.safetensors", json.length(), json + "0123456789"),
                "tensor 'w' (F16 [2, 3]) should hold 12 bytes, but its data_offsets span 10");
    }

    @Test
    void overlappingTensors() throws Exception {
        String json = "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}";
        expect(raw("overlap.safetensors", json.length(), json + "012345678901"),
                "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
    }

    @Test
    void badOffsetsAndShapes() throws Exception {
        String backwards = "{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 0]}}";
        expect(raw("back.safetensors", backwards.length(), backwards + "0000"), "end before they begin");
        String negative = "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}";
        expect(raw("neg.safetensors", negative.length(), negative + "0000"), "shape holds -1, not a non-negative integer");
        String noDtype = "{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}";
        expect(raw("nodtype.safetensors", noDtype.length(), noDtype + "0000"), "tensor 'a' has no dtype string");
    }

    /** A file with the given header length field, then the text (header and any data). */
    private Path raw(String name, long headerLength, String text) throws Exception {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(body);
        Path file = tmp.resolve(name);
        Files.write(file, b.array());
        return file;
    }

    private static void expect(Path file, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafetensorsFile.open(file).close());
        assertTrue(e.getMessage().contains(fragment), "message: " + e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
    }
}
