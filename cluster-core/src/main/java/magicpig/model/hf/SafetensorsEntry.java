package magicpig.model.hf;

import java.util.Arrays;

/**
 * One tensor as a safetensors header describes it.
 *
 * @param name  the tensor's name
 * @param dtype the dtype as the header spells it (kept even when this reader does not know it)
 * @param shape dimensions, outermost first; empty for a scalar
 * @param begin first byte, relative to the start of the data section
 * @param end   one past the last byte, relative to the start of the data section
 */
public record SafetensorsEntry(String name, String dtype, long[] shape, long begin, long end) {

    public SafetensorsEntry {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The known dtype, or null when the header names one this reader does not know. */
    public SafetensorsDtype knownDtype() {
        return SafetensorsDtype.parse(dtype);
    }

    public long byteSize() {
        return end - begin;
    }

    /** Number of elements (1 for a scalar). */
    public long elements() {
        return elementsOf(shape);
    }

    static long elementsOf(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
