package magicpig.gguf;

import java.lang.foreign.MemorySegment;
import magicpig.tensor.GgmlType;

/**
 * One tensor of a GGUF file: its bytes, a slice of the mapped file, in the layout of its type.
 * GGUF lists dimensions fastest-varying first: dims[0] is the row length (columns), dims[1] the
 * number of rows (and any further dimensions multiply the rows).
 */
public record GgufTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
    public GgufTensor {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** Values in one row: dims[0]. */
    public long cols() {
        return dims[0];
    }

    /** Rows: the product of dims[1..]; 1 for a vector. */
    public long rows() {
        long rows = 1;
        for (int i = 1; i < dims.length; i++) rows *= dims[i];
        return rows;
    }

    public long elementCount() {
        return cols() * rows();
    }

    @Override
    public String toString() {
        return name + " " + type + java.util.Arrays.toString(dims);
    }
}
