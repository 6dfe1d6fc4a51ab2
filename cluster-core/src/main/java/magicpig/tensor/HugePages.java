package magicpig.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Large off-heap buffers (KV caches, sampled-attention records, LSH tables, synthetic weights) on
 * 2 MiB transparent huge pages where Linux allows it.
 *
 * <p>Why: sampled attention reads about 2% of the offloaded records, each a scattered 1 KB read,
 * so with 4 KiB pages nearly every record costs a TLB miss and a page walk on top of its cache
 * misses (the second-level TLB covers 6 MiB; a 128K-token layer is 1 GiB). With 2 MiB pages the
 * same TLB covers 3 GiB. Streaming readers (dense attention, weights) gain a little too.
 *
 * <p>How: most distributions ship THP in {@code madvise} mode, and {@link Arena#allocate} zero-fills
 * (touches) its memory before anyone could advise it, so its pages are already small. Here a buffer
 * of at least 2 MiB is an anonymous {@code mmap}, aligned to 2 MiB and advised with
 * {@code MADV_HUGEPAGE} before its first touch (it is zero, as mmap memory is), and unmapped when its
 * arena closes. Anywhere the downcalls are unavailable (not Linux x86-64/aarch64, no native access)
 * or fail, or with {@code -Dmagicpig.hugepages=false}, it is a plain {@code arena.allocate}: the
 * memory is the same, only slower to read at random.
 */
public final class HugePages {
    private static final System.Logger log = System.getLogger(HugePages.class.getName());
    private static final long HUGE = 2L << 20;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MADVISE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null;
        String os = System.getProperty("os.name", "");
        if (os.startsWith("Linux") && !"false".equals(System.getProperty("magicpig.hugepages"))) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            } catch (Throwable t) {
                log.log(System.Logger.Level.DEBUG, "huge pages unavailable, using plain allocations: " + t);
                mmap = munmap = madvise = null;
            }
        }
        MMAP = mmap;
        MUNMAP = munmap;
        MADVISE = madvise;
    }

    private HugePages() {}

    /** Whether large buffers are mapped and advised for huge pages here. */
    public static boolean available() {
        return MMAP != null;
    }

    /**
     * {@code bytes} of zeroed memory, 64-byte aligned (2 MiB aligned when large), freed when
     * {@code arena} closes.
     */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (bytes < HUGE || MMAP == null) return arena.allocate(bytes, 64);
        long rounded = (bytes + HUGE - 1) / HUGE * HUGE;
        long mapped = rounded + HUGE; // room to align the start to 2 MiB
        MemorySegment raw;
        try {
            raw = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, mapped, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            return arena.allocate(bytes, 64);
        }
        if (raw.address() == -1L || raw.address() == 0L) return arena.allocate(bytes, 64); // MAP_FAILED: let the arena say why
        long base = raw.address();
        long aligned = (base + HUGE - 1) & -HUGE;
        try {
            int ignored = (int) MADVISE.invokeExact(MemorySegment.ofAddress(aligned), rounded, MADV_HUGEPAGE);
        } catch (Throwable t) {
            // advice is only advice: the mapping works with small pages
        }
        return MemorySegment.ofAddress(aligned).reinterpret(bytes, arena, s -> unmap(base, mapped));
    }

    private static void unmap(long address, long bytes) {
        try {
            int ignored = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
        } catch (Throwable t) {
            log.log(System.Logger.Level.WARNING, "munmap of " + bytes + " bytes failed: " + t);
        }
    }
}
