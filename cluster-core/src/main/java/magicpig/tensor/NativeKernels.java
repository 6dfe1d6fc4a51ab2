package magicpig.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The native decode kernels ({@code magicpig/native/kernels.c}): matrix-vector products for F16,
 * BF16 and Q8_0 (in its CPU layout) that keep the memory busy where the Vector API kernels cannot
 * (the C file says why). Decode of a 1B model is one pass over all its weights per token, so these
 * products are almost all of its time.
 *
 * <p><b>How they get here.</b> On first use the source, shipped in the jar, is compiled once per
 * machine with the system's C compiler ({@code cc}, or {@code -Dmagicpig.native.cc} / the
 * {@code MAGICPIG_CC} variable) as {@code -O3 -march=native} with AMX turned off (this project's VMs
 * list AMX but fault on it). The library is cached under {@code ~/.cache/magicpig} (or
 * {@code -Dmagicpig.native.dir}), named by a hash of the source, the flags, the compiler's version
 * and the CPU, so a changed source, compiler or machine gets its own build and a cached one is
 * never stale. Before use it must give the Java kernels' results on a small matrix of each type.
 *
 * <p><b>Q8_0 in integers.</b> Q8_0's kernel takes x rounded to 16-bit integers per block of 32
 * ({@link #x16}, once per product) and sums each block's products exactly in integers: a third of the
 * float kernel's vector instructions, which is what let Q8_0 fall behind the memory. The rounding
 * moves a value by at most 1/65534 of its block's largest, some 250 times less than Q8_0's own
 * rounding of the weights; {@link #x16ErrorBound} is the bound the checks allow.
 *
 * <p><b>When they are not there.</b> Not Linux on x86-64, no C compiler, a failed build, a CPU
 * without AVX-512, a failed self-check, or {@code -Dmagicpig.native=false}: one line in the log says
 * which, and the Vector API kernels serve (the same results up to the order of float additions, and
 * for Q8_0 up to x's rounding; decode is slower, see the README). {@link #status()} names what runs, for benchmarks to print.
 *
 * <p><b>Calls.</b> The downcalls are critical (no thread-state transition, heap arrays passed
 * directly), so a call costs about as much as a Java call and allocates nothing; the caller keeps
 * each call to about a megabyte of weights, so that a safepoint never waits long for one.
 */
public final class NativeKernels {
    private static final System.Logger LOG = System.getLogger(NativeKernels.class.getName());
    /** Bumped with every change of a function's signature: mp_abi() must return it. */
    private static final int ABI = 2;
    private static final String SOURCE = "/magicpig/native/kernels.c";
    private static final List<String> FLAGS = List.of("-O3", "-march=native", "-mno-amx-tile", "-mno-amx-int8", "-mno-amx-bf16",
            "-shared", "-fPIC", "-fno-strict-aliasing");
    /** Weight bytes per downcall: a call of ~1 MiB runs for well under a millisecond. */
    static final long CALL_BYTES = 1 << 20;
    /**
     * Prefetch distance in bytes of the half-precision kernels, per row stream, and of Q8_0's single
     * stream (tuning knobs: -Dmagicpig.native.prefetchHalf, -Dmagicpig.native.prefetchQ8_0).
     * Measured with KernelBandwidth: Q8_0 2048 65-70 %, 4096-16384 71-76 % of the sum.
     */
    private static final int PF_HALF = Integer.getInteger("magicpig.native.prefetchHalf", 1024);
    private static final int PF_Q8_0 = Integer.getInteger("magicpig.native.prefetchQ8_0", 4096);

    private static final MethodHandle F16_ROWS, BF16_ROWS, X16, Q8_0_GROUPS;
    private static final String STATUS;

    static {
        MethodHandle[] h = new MethodHandle[4];
        String status;
        try {
            status = load(h);
        } catch (Throwable t) {
            h = new MethodHandle[4];
            status = "unavailable (" + t + ")";
        }
        if (h[0] != null) {
            try {
                selfCheck(h);
            } catch (Throwable t) {
                h = new MethodHandle[4];
                status = "unavailable: the self-check failed (" + t.getMessage() + ")";
            }
        }
        F16_ROWS = h[0];
        BF16_ROWS = h[1];
        X16 = h[2];
        Q8_0_GROUPS = h[3];
        STATUS = status;
        boolean asked = status.startsWith("turned off");
        LOG.log(h[0] != null || asked ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                "native decode kernels " + status + (h[0] != null ? "" : "; the Vector API kernels serve (slower decode)"));
    }

    private NativeKernels() {}

    /** Whether the native kernels run the products they cover. */
    public static boolean available() {
        return F16_ROWS != null;
    }

    /** One line for logs and benchmarks: which kernels run, and why not the native ones if not. */
    public static String status() {
        return STATUS;
    }

    /** y[yOff + r] = row r . x[xOff ..] for rows [r0, r1) of an F16 matrix; false when no native kernel runs. */
    static boolean f16Rows(MemorySegment w, long rowBytes, int cols, MemorySegment x, int xOff, MemorySegment y, int yOff, int r0, int r1) {
        return halfRows(F16_ROWS, w, rowBytes, cols, x, xOff, y, yOff, r0, r1);
    }

    /** As {@link #f16Rows}, for BF16. */
    static boolean bf16Rows(MemorySegment w, long rowBytes, int cols, MemorySegment x, int xOff, MemorySegment y, int yOff, int r0, int r1) {
        return halfRows(BF16_ROWS, w, rowBytes, cols, x, xOff, y, yOff, r0, r1);
    }

    private static boolean halfRows(MethodHandle kernel, MemorySegment w, long rowBytes, int cols, MemorySegment x, int xOff, MemorySegment y,
            int yOff, int r0, int r1) {
        if (kernel == null) return false;
        checkFits(w, rowBytes * r1, "weights");
        checkFits(x, 4L * (xOff + cols), "x");
        checkFits(y, 4L * (yOff + r1), "y");
        int step = (int) Math.max(4, CALL_BYTES / rowBytes & ~3);
        try {
            for (int r = r0; r < r1; r += step) kernel.invokeExact(w, rowBytes, cols, x, xOff, y, yOff, r, Math.min(r1, r + step), PF_HALF);
        } catch (Throwable t) {
            throw new IllegalStateException("native kernel failed", t);
        }
        return true;
    }

    /**
     * x[xOff, xOff + cols) as 16-bit integers per block of 32 columns, for {@link #q8_0Groups}: xs[b]
     * = max |x| / 32767 over block b and xq = round(x / xs[b]), so a value is off by at most 1/65534
     * of its block's largest ({@link #x16ErrorBound}). cols is a multiple of 32; xq holds cols shorts
     * and xs cols / 32 floats. A block with a NaN or an infinity gets a NaN scale (its products are
     * NaN, as in floats). False, having done nothing, when no native kernel runs.
     */
    static boolean x16(MemorySegment x, int xOff, int cols, MemorySegment xq, MemorySegment xs) {
        if (X16 == null) return false;
        if ((cols & 31) != 0) throw new IndexOutOfBoundsException("x16 of " + cols + " values: not whole blocks of 32");
        checkFits(x, 4L * (xOff + cols), "x");
        checkX16(xq, xs, cols);
        try {
            X16.invokeExact(x, xOff, cols, xq, xs);
        } catch (Throwable t) {
            throw new IllegalStateException("native kernel failed", t);
        }
        return true;
    }

    /**
     * Rows [4 g0, 4 g1) of a Q8_0 matrix from its CPU layout ({@link Q8_0Matrix}), against x from
     * {@link #x16}; false when no native kernel runs. Each result differs from the float product by
     * at most {@link #x16ErrorBound} plus float rounding.
     */
    static boolean q8_0Groups(MemorySegment layout, int cols, MemorySegment xq, MemorySegment xs, MemorySegment y, int yOff, int g0, int g1) {
        if (Q8_0_GROUPS == null) return false;
        long groupBytes = (long) (cols / Q8_0Matrix.BLOCK) * Q8_0Matrix.GROUP_BLOCK_BYTES;
        checkFits(layout, groupBytes * g1, "weights");
        checkX16(xq, xs, cols);
        checkFits(y, 4L * (yOff + 4L * g1), "y");
        int step = (int) Math.max(1, CALL_BYTES / groupBytes);
        try {
            for (int g = g0; g < g1; g += step) Q8_0_GROUPS.invokeExact(layout, cols, xq, xs, y, yOff, g, Math.min(g1, g + step), PF_Q8_0);
        } catch (Throwable t) {
            throw new IllegalStateException("native kernel failed", t);
        }
        return true;
    }

    /**
     * The most that rounding x to {@link #x16} moves row . x (row given as floats, x from xOff):
     * half a step of each block's scale times the block's sum of |row|.
     */
    static double x16ErrorBound(float[] row, float[] x, int xOff, int cols) {
        double bound = 0;
        for (int b = 0; b < cols / 32; b++) {
            double max = 0, weights = 0;
            for (int i = 32 * b; i < 32 * b + 32; i++) {
                max = Math.max(max, Math.abs(x[xOff + i]));
                weights += Math.abs(row[i]);
            }
            bound += max / 65534 * weights;
        }
        return bound;
    }

    /**
     * Native code has no bounds checks: a caller's mistake must fail here, not read or write out of
     * bounds. Fails unless the first {@code bytes} bytes of s exist.
     */
    private static void checkFits(MemorySegment s, long bytes, String what) {
        if (bytes > s.byteSize()) {
            throw new IndexOutOfBoundsException("native product out of bounds: " + what + " needs " + bytes + " bytes, has " + s.byteSize());
        }
    }

    /** {@link #checkFits} for x16's two buffers: cols shorts and cols / 32 block scales. */
    private static void checkX16(MemorySegment xq, MemorySegment xs, int cols) {
        checkFits(xq, 2L * cols, "xq");
        checkFits(xs, 4L * (cols / 32), "xs");
    }

    /** Finds or builds the library and binds its functions into h; returns the status line. */
    private static String load(MethodHandle[] h) throws Throwable {
        if ("false".equals(System.getProperty("magicpig.native"))) return "turned off (-Dmagicpig.native=false)";
        String os = System.getProperty("os.name", ""), arch = System.getProperty("os.arch", "");
        if (!os.startsWith("Linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) return "not built for " + os + "/" + arch;
        byte[] source;
        try (InputStream in = NativeKernels.class.getResourceAsStream(SOURCE)) {
            if (in == null) return "unavailable: " + SOURCE + " is not on the class path";
            source = in.readAllBytes();
        }
        String cc = System.getProperty("magicpig.native.cc", System.getenv().getOrDefault("MAGICPIG_CC", "cc"));
        String ccVersion = run(List.of(cc, "--version"), null);
        if (ccVersion == null) return "unavailable: no C compiler (" + cc + "; set -Dmagicpig.native.cc or MAGICPIG_CC)";
        MessageDigest sha = sha256();
        sha.update(source);
        sha.update(String.join(" ", FLAGS).getBytes(StandardCharsets.UTF_8));
        sha.update(ccVersion.getBytes(StandardCharsets.UTF_8));
        sha.update(cpuIdentity().getBytes(StandardCharsets.UTF_8));
        String name = "libmagicpig-kernels-" + HexFormat.of().formatHex(sha.digest(), 0, 8) + ".so";
        Path dir = cacheDir();
        Path lib = dir.resolve(name);
        String how = "cached";
        if (!Files.isRegularFile(lib)) {
            try {
                Files.createDirectories(dir);
                if (!Files.isWritable(dir)) throw new IOException(dir + " is not writable");
            } catch (IOException e) { // a read-only home: build in the temporary directory
                dir = Path.of(System.getProperty("java.io.tmpdir"), "magicpig-" + System.getProperty("user.name"));
                Files.createDirectories(dir);
                lib = dir.resolve(name);
            }
        }
        if (!Files.isRegularFile(lib)) {
            Path src = Files.createTempFile(dir, "kernels-", ".c"), tmp = Files.createTempFile(dir, "kernels-", ".so");
            try {
                Files.write(src, source);
                long t0 = System.nanoTime();
                List<String> cmd = new ArrayList<>(List.of(cc));
                cmd.addAll(FLAGS);
                cmd.addAll(List.of("-o", tmp.toString(), src.toString()));
                StringBuilder err = new StringBuilder();
                if (run(cmd, err) == null) return "unavailable: " + cc + " failed: " + firstLine(err.toString());
                Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                how = String.format(Locale.ROOT, "built in %.1f s", (System.nanoTime() - t0) * 1e-9);
            } finally {
                Files.deleteIfExists(src);
                Files.deleteIfExists(tmp);
            }
        }
        Linker linker = Linker.nativeLinker();
        SymbolLookup symbols = SymbolLookup.libraryLookup(lib, Arena.global());
        MethodHandle abi = linker.downcallHandle(symbols.findOrThrow("mp_abi"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
        int got = (int) abi.invokeExact();
        if (got == 0) return "unavailable: this CPU (or " + cc + "'s -march=native) has no AVX-512";
        if (got != ABI) return "unavailable: " + lib + " has ABI " + got + ", expected " + ABI;
        Linker.Option critical = Linker.Option.critical(true);
        ValueLayout a = ValueLayout.ADDRESS, i = ValueLayout.JAVA_INT, l = ValueLayout.JAVA_LONG;
        FunctionDescriptor half = FunctionDescriptor.ofVoid(a, l, i, a, i, a, i, i, i, i);
        h[0] = linker.downcallHandle(symbols.findOrThrow("mp_f16_rows"), half, critical);
        h[1] = linker.downcallHandle(symbols.findOrThrow("mp_bf16_rows"), half, critical);
        h[2] = linker.downcallHandle(symbols.findOrThrow("mp_x16"), FunctionDescriptor.ofVoid(a, i, i, a, a), critical);
        h[3] = linker.downcallHandle(symbols.findOrThrow("mp_q8_0_groups"), FunctionDescriptor.ofVoid(a, i, a, a, a, i, i, i, i), critical);
        return "loaded: " + lib + " (" + how + ")";
    }

    /**
     * Each kernel against the Java one on a small random matrix whose rows are not a multiple of four
     * and columns not of 16 (the tails), with offsets into x and y: a library that computes anything
     * else is not used.
     */
    private static void selfCheck(MethodHandle[] h) throws Throwable {
        int rows = 12, xOff = 3, yOff = 5;
        java.util.Random rnd = new java.util.Random(7);
        float[] x = new float[xOff + 128];
        for (int k = 0; k < x.length; k++) x[k] = (float) rnd.nextGaussian();
        MemorySegment xs = MemorySegment.ofArray(x);
        // This runs in a class initializer, often on a compute thread inside a product; the pool's
        // nested calls (Quantizer.matrix, buildCpuLayout) then run on this thread alone.
        try (Arena arena = Arena.ofShared()) {
            for (GgmlType type : new GgmlType[] {GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0}) {
                int cols = type == GgmlType.Q8_0 ? 128 : 104;
                float[] src = new float[rows * cols];
                for (int k = 0; k < src.length; k++) src[k] = (float) rnd.nextGaussian() * 0.1f;
                WeightMatrix m = Quantizer.matrix(type, src, rows, cols, arena);
                float[] y = new float[yOff + rows];
                MemorySegment ys = MemorySegment.ofArray(y);
                int from = 1;
                switch (type) {
                    case F16 -> h[0].invokeExact(m.data(), m.rowBytes, cols, xs, xOff, ys, yOff, from, rows, 256);
                    case BF16 -> h[1].invokeExact(m.data(), m.rowBytes, cols, xs, xOff, ys, yOff, from, rows, 256);
                    default -> {
                        from = 4;
                        short[] xq = new short[cols];
                        float[] scales = new float[cols / 32];
                        MemorySegment xqs = MemorySegment.ofArray(xq), ss = MemorySegment.ofArray(scales);
                        h[2].invokeExact(xs, xOff, cols, xqs, ss);
                        h[3].invokeExact(m.buildCpuLayout(arena), cols, xqs, ss, ys, yOff, 1, rows / 4, 512);
                    }
                }
                float[] row = new float[cols];
                for (int r = from; r < rows; r++) {
                    m.dequantizeRow(r, row, 0);
                    double slack = type == GgmlType.Q8_0 ? x16ErrorBound(row, x, xOff, cols) : 0;
                    expectClose(type, r, m.dot(r, x, xOff), y[yOff + r], slack);
                }
            }
        }
    }

    private static void expectClose(GgmlType type, int row, float want, float got, double slack) {
        if (!(Math.abs(want - got) <= 1e-4f * (1 + Math.abs(want)) + slack)) {
            throw new IllegalStateException(type + " row " + row + ": native " + got + ", Java " + want);
        }
    }

    /** Runs cmd; returns its standard output, or null when it could not start, timed out or failed (its output then goes to err). */
    private static String run(List<String> cmd, StringBuilder err) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                if (err != null) err.append(text);
                return null;
            }
            return text;
        } catch (IOException e) {
            if (err != null) err.append(e.getMessage());
            return null;
        }
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    /** The CPU's model and feature flags: a library built with -march=native is only good for the CPU it was built on. */
    private static String cpuIdentity() {
        try {
            StringBuilder id = new StringBuilder();
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name") || line.startsWith("flags")) id.append(line).append('\n');
                if (line.isEmpty() && !id.isEmpty()) break;
            }
            return id.toString();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static Path cacheDir() {
        String dir = System.getProperty("magicpig.native.dir");
        if (dir != null) return Path.of(dir);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("magicpig");
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
