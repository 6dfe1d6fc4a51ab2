package magicpig.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user meets it: exit codes, one clear line for bad input, clean standard output. */
class MainTest {

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static Path shared(String name) {
        String prop = System.getProperty("magicpig.shared");
        Path p = (prop != null ? Path.of(prop) : Path.of("..", "shared")).resolve("models").resolve(name);
        assumeTrue(Files.isRegularFile(p), "skipped: shared model " + p + " is absent");
        return p;
    }

    @Test
    void unknownFlagIsAUsageErrorWithStatus2() {
        Run r = run("generate", "--model", "synthetic:tiny", "--bogus", "1");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("magicpig: unknown flag --bogus"), r.err());
        assertTrue(r.err().contains("usage: magicpig"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void unknownCommandAndMissingValue() {
        assertEquals(2, run("frobnicate").status());
        Run r = run("generate", "--model");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--model needs a value"), r.err());
        r = run("generate", "--model", "synthetic:tiny", "--temperature", "hot");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--temperature needs a number"), r.err());
    }

    @Test
    void metricsBenchAndFlagsCheckTheirInput() {
        Run r = run("bench", "metrics", "--attention", "sparse");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("magicpig: --attention dense|magicpig"), r.err());
        r = run("bench", "metrics", "--rounds", "0");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--rounds >= 1"), r.err());
        r = run("serve", "--metrics", "sometimes", "--port", "0", "--cluster-port", "0");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("magicpig: error: bad setting") && r.err().contains("enabled"), r.err());
    }

    @Test
    void truncatedFileIsOneClearLineAndStatus2(@TempDir Path dir) throws Exception {
        Path src = shared("aidreams260K.bin");
        Path cut = dir.resolve("broken.bin");
        byte[] all = Files.readAllBytes(src);
        Files.write(cut, java.util.Arrays.copyOf(all, 5000));
        Run r = run("generate", "--model", cut.toString(), "--ids");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("magicpig: error: ") && r.err().contains("broken.bin") && r.err().contains("truncated"), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace");
    }

    @Test
    void missingFileAndUnknownSyntheticModel() {
        Run r = run("generate", "--model", "/nonexistent/model.gguf");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("no such file") && r.err().contains("/nonexistent/model.gguf"), r.err());
        r = run("generate", "--model", "synthetic:huge");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("unknown synthetic model 'huge'"), r.err());
    }

    @Test
    void promptLongerThanTheContextIsRefused() {
        Run r = run("generate", "--model", "synthetic:tiny", "--ctx-size", "8", "--prompt", "a prompt that is longer than eight tokens");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("does not fit the model's context of 8"), r.err());
    }

    @Test
    void idsGoToStandardOutputAndStatisticsToStandardError() {
        Run r = run("generate", "--model", "synthetic:tiny", "--prompt", "hi", "--max-tokens", "4", "--temperature", "0", "--ids");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().strip().matches("\\d+( \\d+){4}"), "five ids: " + r.out());
        assertTrue(r.err().contains("prompt tokens: 3"), r.err());
    }
}
