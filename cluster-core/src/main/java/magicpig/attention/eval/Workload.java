package magicpig.attention.eval;

/**
 * One kv head's worth of attention inputs: n keys (after RoPE), n values and a few queries that
 * attend over all of them, as if the queries were the current token's query heads of a GQA group.
 * Synthetic workloads implement it, and so can keys and queries captured from a real model.
 */
public interface Workload {
    /** Short name; the eval reports it and groups plot panels by it. */
    String name();

    /** Keys (tokens) n. */
    int size();

    int headDim();

    /** Queries (query heads sharing this kv head). */
    int queries();

    /** Key of token i into dst[off .. off + headDim). */
    void key(int i, float[] dst, int off);

    /** Value of token i into dst[off .. off + headDim). */
    void value(int i, float[] dst, int off);

    /** Query j into dst[off .. off + headDim). */
    void query(int j, float[] dst, int off);

    /** A workload held in arrays (keys and values n x d, queries q x d, row-major). */
    record Arrays(String name, int size, int headDim, float[] keys, float[] values, float[] queryData) implements Workload {
        public Arrays {
            if (keys.length != (long) size * headDim || values.length != (long) size * headDim || queryData.length % headDim != 0) {
                throw new IllegalArgumentException("workload arrays do not match " + size + " x " + headDim);
            }
        }

        @Override
        public int queries() {
            return queryData.length / headDim;
        }

        @Override
        public void key(int i, float[] dst, int off) {
            System.arraycopy(keys, i * headDim, dst, off, headDim);
        }

        @Override
        public void value(int i, float[] dst, int off) {
            System.arraycopy(values, i * headDim, dst, off, headDim);
        }

        @Override
        public void query(int j, float[] dst, int off) {
            System.arraycopy(queryData, j * headDim, dst, off, headDim);
        }
    }
}
