package magicpig.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class HugePagesTest {

    /** Large buffers are zeroed, writable to the last byte and 2 MiB aligned where huge pages are available; closing unmaps. */
    @Test
    void largeBuffersAreZeroedAlignedAndFreedWithTheirArena() {
        long bytes = (5L << 20) + 12;
        for (int round = 0; round < 3; round++) {
            Arena arena = Arena.ofShared();
            {
                MemorySegment s = HugePages.allocate(arena, bytes);
                assertEquals(bytes, s.byteSize());
                if (HugePages.available()) assertEquals(0, s.address() % (2L << 20), "2 MiB aligned");
                for (long i = 0; i < bytes; i += 4096) assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i));
                s.set(ValueLayout.JAVA_BYTE, bytes - 1, (byte) 7);
                s.set(ValueLayout.JAVA_FLOAT, 0, 1.5f);
                assertEquals(7, s.get(ValueLayout.JAVA_BYTE, bytes - 1));
                assertEquals(1.5f, s.get(ValueLayout.JAVA_FLOAT, 0));
                arena.close();
                assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_BYTE, 0), "closed with its arena");
            }
        }
    }

    @Test
    void smallBuffersComeFromTheArena() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = HugePages.allocate(arena, 1000);
            assertEquals(1000, s.byteSize());
            assertEquals(0, s.address() % 64);
        }
    }
}
