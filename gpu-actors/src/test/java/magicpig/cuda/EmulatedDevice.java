package magicpig.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link Device} that runs the real kernel sources ({@code src/main/cuda/*.cu}) on the CPU,
 * compiled with g++ against the emulator of {@code src/test/cuda/emu} into a shared library and
 * called through the FFM API; device memory is host memory, device addresses are host addresses.
 * So the backend's Java code and the kernels are tested together, without a GPU. Launches run to
 * completion before they return (the stream is trivially in order).
 */
final class EmulatedDevice extends Device {
    private static final Path SOURCES = Path.of("src/main/cuda");
    private static final Path EMU = Path.of("src/test/cuda/emu");
    private static final Path BUILD = Path.of("target/emu");
    private static MethodHandle launch;
    private static String unavailable;

    /** Nanoseconds per kernel, when MAGICPIG_EMU_PROFILE is set. */
    static final Map<String, Long> PROFILE = System.getenv("MAGICPIG_EMU_PROFILE") != null ? new java.util.concurrent.ConcurrentHashMap<>() : null;
    private final Map<String, Kernel> kernels = new HashMap<>();
    private final Map<Long, Arena> arenas = new HashMap<>();

    private EmulatedDevice() {
        super("emulated", 1, 16L << 30);
    }

    /** Why the emulator cannot be built here (no g++, not x86-64 Linux), or null when it can. */
    static synchronized String unavailable() {
        if (launch == null && unavailable == null) {
            try {
                launch = build();
            } catch (Exception e) {
                unavailable = "the CUDA emulator could not be built: " + e.getMessage();
            }
        }
        return unavailable;
    }

    static EmulatedDevice open() {
        String why = unavailable();
        if (why != null) throw new IllegalStateException(why);
        return new EmulatedDevice();
    }

    /** Compiles the kernels with the emulator (once per source change) and binds emu_launch. */
    private static MethodHandle build() throws IOException, InterruptedException {
        if (!System.getProperty("os.arch").equals("amd64") || !System.getProperty("os.name").equals("Linux")) {
            throw new IOException("the emulator's context switch is x86-64 Linux only");
        }
        Files.createDirectories(BUILD);
        StringBuilder all = new StringBuilder("#include \"emu.h\"\n");
        StringBuilder signature = new StringBuilder();
        List<Path> cus;
        try (var s = Files.list(SOURCES)) {
            cus = s.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh")).sorted().toList();
        }
        for (Path cu : cus) {
            String text = Files.readString(cu);
            signature.append(cu.getFileName()).append(text.hashCode());
            if (!cu.toString().endsWith(".cu")) continue;
            // Dynamic shared memory: one buffer per launch, as the scheduler provides it.
            text = text.replaceAll("extern __shared__ (\\w+) (\\w+)\\[\\];", "$1* $2 = ($1*) emu_dyn_smem;");
            Path inc = BUILD.resolve(cu.getFileName() + ".inc");
            Files.writeString(inc, text);
            all.append("#include \"").append(inc.getFileName()).append("\"\n");
        }
        all.append("#include \"emu_main.cpp\"\n");
        for (String f : new String[] {"emu.h", "emu_main.cpp", "cuda_fp16.h"}) signature.append(Files.readString(EMU.resolve(f)).hashCode());
        StringBuilder registry = new StringBuilder();
        PtxResources ptx = PtxResources.load();
        Matcher m = Pattern.compile("\\.entry (\\w+)\\(").matcher(String.join("\n", ptx.modules.stream().map(x -> ptx.text(x, ptx.archs[0])).toList()));
        while (m.find()) registry.append("EMU_KERNEL(").append(m.group(1)).append(")\n");
        Files.writeString(BUILD.resolve("registry.inc"), registry);
        Files.writeString(BUILD.resolve("all.cpp"), all);
        Path lib = BUILD.resolve("libmagicpig_emu_" + Integer.toHexString(signature.toString().hashCode() ^ registry.toString().hashCode()) + ".so").toAbsolutePath();
        if (!Files.exists(lib)) {
            List<String> cmd = new ArrayList<>(List.of("g++", "-std=c++20", "-O2", "-fPIC", "-shared", "-w",
                    "-I", BUILD.toString(), "-I", EMU.toString(), "-I", SOURCES.toString(), "-o", lib + ".tmp", BUILD.resolve("all.cpp").toString()));
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            } catch (IOException e) {
                throw new IOException("g++ is not installed (" + e.getMessage() + ")");
            }
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("g++ failed:\n" + log);
            Files.move(Path.of(lib + ".tmp"), lib);
        }
        SymbolLookup lookup = SymbolLookup.libraryLookup(lib, Arena.global());
        return Linker.nativeLinker().downcallHandle(lookup.find("emu_launch").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    }

    @Override
    String describe() {
        return "emulated CUDA device (kernels run on the CPU)";
    }

    @Override
    void makeCurrent() {}

    @Override
    Kernel kernel(String name) {
        return kernels.computeIfAbsent(name, n -> new Kernel(this, n, n));
    }

    /** A launch as recorded into a graph: the kernel and a copy of its arguments. */
    private record Recorded(Kernel kernel, byte[] kinds, long[] values, int count, int gridX, int gridY, int block, int shared) {}

    private List<Recorded> recording;
    /** Graphs recorded and replayed, for the tests to see that the graph path ran. */
    int captures, replays;

    @Override
    void beginCapture() {
        if (recording != null) throw new IllegalStateException("already capturing");
        recording = new ArrayList<>();
    }

    @Override
    Object endCapture() {
        List<Recorded> g = recording;
        recording = null;
        captures++;
        return g;
    }

    @Override
    @SuppressWarnings("unchecked")
    void launchGraph(Object graph) {
        replays++;
        for (Recorded r : (List<Recorded>) graph) {
            // Replays with the recorded arguments, whatever the kernel's slots hold now.
            byte[] kinds = r.kernel().kinds.clone();
            long[] values = r.kernel().values.clone();
            int count = r.kernel().count;
            System.arraycopy(r.kinds(), 0, r.kernel().kinds, 0, r.count());
            System.arraycopy(r.values(), 0, r.kernel().values, 0, r.count());
            r.kernel().count = r.count();
            run(r.kernel(), r.gridX(), r.gridY(), r.block(), r.shared());
            System.arraycopy(kinds, 0, r.kernel().kinds, 0, kinds.length);
            System.arraycopy(values, 0, r.kernel().values, 0, values.length);
            r.kernel().count = count;
        }
    }

    @Override
    void destroyGraph(Object graph) {}

    private void checkNotCapturing(String what) {
        if (recording != null) throw new IllegalStateException(what + " while capturing a graph (CUDA forbids it)");
    }

    @Override
    void launch(Kernel k, int gridX, int gridY, int block, int sharedBytes) {
        if (recording != null) {
            recording.add(new Recorded(k, k.kinds.clone(), k.values.clone(), k.count, gridX, gridY, block, sharedBytes));
            return;
        }
        run(k, gridX, gridY, block, sharedBytes);
    }

    private void run(Kernel k, int gridX, int gridY, int block, int sharedBytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(8L * Math.max(1, k.count), 8);
            for (int i = 0; i < k.count; i++) {
                MemorySegment v = a.allocate(8, 8);
                switch (k.kinds[i]) {
                    case Kernel.LONG -> v.set(ValueLayout.JAVA_LONG, 0, k.values[i]);
                    case Kernel.INT -> v.set(ValueLayout.JAVA_INT, 0, (int) k.values[i]);
                    default -> v.set(ValueLayout.JAVA_INT, 0, (int) k.values[i]); // float bits
                }
                params.setAtIndex(ValueLayout.ADDRESS, i, v);
            }
            long t0 = System.nanoTime();
            int r = (int) launch.invokeExact(a.allocateFrom(k.name), gridX, gridY, block, sharedBytes, params);
            if (PROFILE != null) PROFILE.merge(k.name, System.nanoTime() - t0, Long::sum);
            if (r != 0) throw new IllegalStateException("emulated launch of " + k.name + " failed: " + r);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    DeviceBuffer allocate(long bytes) {
        checkNotCapturing("a copy or allocation");
        Arena a = Arena.ofShared();
        MemorySegment s = a.allocate(Math.max(bytes, 16), 256);
        s.fill((byte) 0xFF); // NaNs: reading what was never written shows
        arenas.put(s.address(), a);
        return new DeviceBuffer(this, s, s.address(), bytes);
    }

    @Override
    void free(DeviceBuffer b) {
        arenas.remove(b.address).close();
    }

    private static MemorySegment at(DeviceBuffer b, long offset, long n) {
        b.checkRange(offset, n);
        return ((MemorySegment) b.handle).asSlice(offset, n);
    }

    @Override
    long[] memoryInfo() {
        return new long[] {totalMemory, totalMemory};
    }

    @Override
    void upload(DeviceBuffer dst, long dstOffset, MemorySegment src, long bytes) {
        checkNotCapturing("a copy or allocation");
        MemorySegment.copy(src, 0, at(dst, dstOffset, bytes), 0, bytes);
    }

    @Override
    void upload(DeviceBuffer dst, long dstOffset, float[] src, int off, int n) {
        checkNotCapturing("a copy or allocation");
        MemorySegment.copy(src, off, at(dst, dstOffset, 4L * n), ValueLayout.JAVA_FLOAT, 0, n);
    }

    @Override
    void upload(DeviceBuffer dst, long dstOffset, ByteBuffer direct, long bytes) {
        checkNotCapturing("a copy or allocation");
        MemorySegment.copy(MemorySegment.ofBuffer(direct), 0, at(dst, dstOffset, bytes), 0, bytes);
    }

    @Override
    void upload(DeviceBuffer dst, long dstOffset, double[] src) {
        checkNotCapturing("a copy or allocation");
        MemorySegment.copy(src, 0, at(dst, dstOffset, 8L * src.length), ValueLayout.JAVA_DOUBLE, 0, src.length);
    }

    @Override
    void download(float[] dst, int off, DeviceBuffer src, long srcOffset, int n) {
        checkNotCapturing("a copy or allocation");
        MemorySegment.copy(at(src, srcOffset, 4L * n), ValueLayout.JAVA_FLOAT, 0, dst, off, n);
    }

    @Override
    void download(int[] dst, int off, DeviceBuffer src, long srcOffset, int n) {
        checkNotCapturing("a copy or allocation");
        MemorySegment.copy(at(src, srcOffset, 4L * n), ValueLayout.JAVA_INT, 0, dst, off, n);
    }

    @Override
    void download(short[] dst, int off, DeviceBuffer src, long srcOffset, int n) {
        checkNotCapturing("a copy or allocation");
        MemorySegment.copy(at(src, srcOffset, 2L * n), ValueLayout.JAVA_SHORT, 0, dst, off, n);
    }

    @Override
    void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
        checkNotCapturing("a copy or allocation");
        MemorySegment.copy(at(src, srcOffset, bytes), 0, at(dst, dstOffset, bytes), 0, bytes);
    }

    @Override
    void synchronize() {}

    @Override
    public void close() {
        for (Arena a : arenas.values()) a.close();
        arenas.clear();
    }
}
