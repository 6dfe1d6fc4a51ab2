package magicpig.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * The committed PTX of the kernels ({@code src/main/cuda/*.cu}, compiled by {@code build-ptx.sh} to
 * {@code /ptx/compute_XX/MODULE.ptx}) and its manifest: which modules, which architectures, which
 * sources they were compiled from.
 */
final class PtxResources {
    static final String MANIFEST = "/ptx/manifest.properties";

    final List<String> modules;
    /** Virtual architectures, ascending: 75 means compute_75. */
    final int[] archs;
    final String sourcesSha256;
    final String nvccVersion;

    private PtxResources(List<String> modules, int[] archs, String sourcesSha256, String nvccVersion) {
        this.modules = modules;
        this.archs = archs;
        this.sourcesSha256 = sourcesSha256;
        this.nvccVersion = nvccVersion;
    }

    static PtxResources load() {
        try (InputStream in = PtxResources.class.getResourceAsStream(MANIFEST)) {
            if (in == null) throw new IllegalStateException("no PTX in this build: " + MANIFEST + " is missing (run gpu-actors/src/main/cuda/build-ptx.sh)");
            Properties p = new Properties();
            p.load(in);
            int[] archs = Arrays.stream(p.getProperty("archs", "").trim().split("\\s+")).mapToInt(Integer::parseInt).sorted().toArray();
            return new PtxResources(List.of(p.getProperty("modules", "").trim().split("\\s+")), archs,
                    p.getProperty("sources-sha256", ""), p.getProperty("nvcc", ""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The PTX to JIT for a device of compute capability {@code major.minor}: the highest architecture
     * at most the device's (PTX runs on its own architecture and every later one).
     */
    int archFor(int major, int minor) {
        int cc = major * 10 + minor;
        int best = -1;
        for (int a : archs) if (a <= cc) best = a;
        if (best < 0) {
            throw new IllegalStateException("the kernels are compiled for compute_" + archs[0] + " and later; this GPU is "
                    + major + "." + minor);
        }
        return best;
    }

    /** The PTX text of a module for an architecture. */
    String text(String module, int arch) {
        String path = "/ptx/compute_" + arch + "/" + module + ".ptx";
        try (InputStream in = PtxResources.class.getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("missing PTX resource " + path);
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
