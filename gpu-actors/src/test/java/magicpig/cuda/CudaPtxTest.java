package magicpig.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The committed PTX: present, loadable as text, naming every kernel, and not stale against src/main/cuda. */
class CudaPtxTest {
    private static final Path SOURCES = Path.of("src/main/cuda");

    @Test
    void everyModuleOfEveryArchitectureIsThereAsPtxText() {
        PtxResources ptx = PtxResources.load();
        assertTrue(ptx.archs.length >= 2, "a range of architectures");
        assertEquals(List.of("attention", "matvec", "probe"), ptx.modules);
        StringBuilder all = new StringBuilder();
        for (int arch : ptx.archs) {
            for (String m : ptx.modules) {
                String text = ptx.text(m, arch);
                assertTrue(text.contains(".version "), m + " for compute_" + arch + " is PTX");
                assertTrue(text.contains(".target sm_" + arch), m + " targets sm_" + arch);
                if (arch == ptx.archs[0]) all.append(text);
            }
        }
        // Every kernel the backend launches is an entry of some module.
        List<String> names = new ArrayList<>(List.of("embed", "rope_store", "attn_partial", "attn_merge", "lsh_hash", "argmax",
                "read_probe", "fill_uniform", "fill_weights"));
        for (String t : new String[] {"f32", "f16", "bf16", "q8_0"}) {
            for (String v : new String[] {"plain_set", "norm_set", "plain_add", "silu_add"}) {
                names.add("mv_" + t + "_" + v + "_1");
                names.add("mv_" + t + "_" + v + "_8");
            }
        }
        for (String n : names) assertTrue(all.indexOf(".entry " + n + "(") >= 0, "kernel " + n + " is in the PTX");
    }

    @Test
    void architectureChoiceIsTheHighestAtMostTheDevices() {
        PtxResources ptx = PtxResources.load();
        assertEquals(90, ptx.archFor(9, 0));
        assertEquals(75, ptx.archFor(8, 9)); // Ada JITs the Turing PTX
        assertEquals(90, ptx.archFor(12, 0));
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> ptx.archFor(7, 0));
        assertTrue(e.getMessage().contains("compute_75"), e.getMessage());
    }

    /** The manifest's hash is the hash of the sources now: recomputed here as build-ptx.sh computes it (no nvcc needed). */
    @Test
    void committedPtxIsNotStaleAgainstTheSources() throws Exception {
        String script = Files.readString(SOURCES.resolve("build-ptx.sh"));
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        List<Path> files;
        try (Stream<Path> s = Files.list(SOURCES)) {
            files = s.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh"))
                    .sorted((a, b) -> compareBytes(a.getFileName().toString(), b.getFileName().toString())).toList();
        }
        for (Path f : files) {
            sha.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(Files.readAllBytes(f));
            sha.update((byte) 0);
        }
        sha.update(("archs=" + shellVar(script, "archs") + "\0flags=" + shellVar(script, "flags")).getBytes(StandardCharsets.UTF_8));
        String hash = HexFormat.of().formatHex(sha.digest());
        assertEquals(hash, PtxResources.load().sourcesSha256,
                "the committed PTX is stale: run gpu-actors/src/main/cuda/build-ptx.sh (needs nvcc) and commit src/main/resources/ptx");
    }

    /** Where nvcc of the version that made the committed PTX is installed: compiling again gives the same PTX. */
    @Test
    void nvccReproducesTheCommittedPtx() throws Exception {
        PtxResources ptx = PtxResources.load();
        String version = nvccVersion();
        assumeTrue(version != null, "nvcc is not installed");
        assumeTrue(version.equals(ptx.nvccVersion), "nvcc " + version + " is not the " + ptx.nvccVersion + " that made the committed PTX");
        String script = Files.readString(SOURCES.resolve("build-ptx.sh"));
        Path tmp = Files.createTempDirectory("ptx");
        try {
            int arch = ptx.archs[0];
            for (String m : ptx.modules) {
                Path outFile = tmp.resolve(m + ".ptx");
                List<String> cmd = new ArrayList<>(List.of("nvcc"));
                cmd.addAll(List.of(shellVar(script, "flags").split(" ")));
                cmd.addAll(List.of("-arch=compute_" + arch, "-o", outFile.toString(), SOURCES.resolve(m + ".cu").toString()));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, "nvcc failed: " + log);
                assertEquals(body(ptx.text(m, arch)), body(Files.readString(outFile)), m + " for compute_" + arch + " is stale");
            }
        } finally {
            try (Stream<Path> s = Files.list(tmp)) {
                for (Path f : s.toList()) Files.delete(f);
            }
            Files.delete(tmp);
        }
    }

    /** PTX without its comment lines (the compiler's banner). */
    private static String body(String ptx) {
        StringBuilder sb = new StringBuilder();
        for (String line : ptx.split("\n")) if (!line.startsWith("//")) sb.append(line).append('\n');
        return sb.toString();
    }

    private static String nvccVersion() {
        try {
            Process p = new ProcessBuilder("nvcc", "--version").redirectErrorStream(true).start();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            p.getInputStream().transferTo(out);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) return null;
            Matcher m = Pattern.compile("release [0-9.]+, V([0-9.]+)").matcher(out.toString(StandardCharsets.UTF_8));
            return m.find() ? m.group(1) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static String shellVar(String script, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "=\"([^\"]*)\"").matcher(script);
        assertTrue(m.find(), "build-ptx.sh sets " + name);
        return m.group(1);
    }

    /** LC_ALL=C sort order: by bytes. */
    private static int compareBytes(String a, String b) {
        return java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}
