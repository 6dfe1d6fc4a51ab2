package magicpig.model.hf;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import magicpig.tensor.GgmlType;

/**
 * A tensor the engine can compute with, its bytes a slice of the file's read-only mapping (little
 * endian, row-major, outermost dimension first). The slice is valid until its file is closed.
 *
 * @param name  the tensor's name
 * @param type  F32, F16 or BF16
 * @param shape dimensions, outermost first
 * @param data  exactly the tensor's bytes
 * @param file  the file it lives in, for messages
 */
public record SafetensorsTensor(String name, GgmlType type, long[] shape, MemorySegment data, Path file) {

    public SafetensorsTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Size of dimension i. */
    public long dim(int i) {
        return shape[i];
    }

    public long elements() {
        return SafetensorsEntry.elementsOf(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(shape) + " in " + file;
    }
}
