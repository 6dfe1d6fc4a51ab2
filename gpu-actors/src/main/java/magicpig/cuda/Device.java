package magicpig.cuda;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * What the backend needs of a GPU: memory, copies and kernel launches on one in-order stream.
 * {@link CudaDevice} is the real one (JCuda's driver API); the tests run the same kernel sources
 * through an emulated one on the CPU. Addresses are device addresses, as kernels receive them.
 */
abstract class Device implements AutoCloseable {
    final String name;
    final int multiprocessors;
    final long totalMemory;

    Device(String name, int multiprocessors, long totalMemory) {
        this.name = name;
        this.multiprocessors = multiprocessors;
        this.totalMemory = totalMemory;
    }

    /** For logs: "cuda:0 NVIDIA H100 ... ". */
    abstract String describe();

    /** Makes this device current on the calling thread (a CUDA context is per thread). */
    abstract void makeCurrent();

    /** A kernel by its (extern "C") name. */
    abstract Kernel kernel(String name);

    /** Queues a kernel with the arguments set on it since {@link Kernel#begin}. */
    abstract void launch(Kernel k, int gridX, int gridY, int block, int sharedBytes);

    abstract DeviceBuffer allocate(long bytes);

    abstract void free(DeviceBuffer b);

    /** Free and total device memory, bytes. */
    abstract long[] memoryInfo();

    /** Copies {@code bytes} bytes of a host segment to dst at dstOffset. */
    abstract void upload(DeviceBuffer dst, long dstOffset, MemorySegment src, long bytes);

    abstract void upload(DeviceBuffer dst, long dstOffset, float[] src, int off, int n);

    abstract void upload(DeviceBuffer dst, long dstOffset, ByteBuffer direct, long bytes);

    abstract void upload(DeviceBuffer dst, long dstOffset, double[] src);

    /** Copies n floats from src at srcOffset (bytes) into dst[off..], after the queued work. */
    abstract void download(float[] dst, int off, DeviceBuffer src, long srcOffset, int n);

    abstract void download(int[] dst, int off, DeviceBuffer src, long srcOffset, int n);

    abstract void download(short[] dst, int off, DeviceBuffer src, long srcOffset, int n);

    abstract void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes);

    /** Waits until all queued work is done (and reports a kernel's failure). */
    abstract void synchronize();

    /**
     * Starts recording the launches that follow into a graph instead of running them (CUDA graphs:
     * one launch replays a whole decode step, without the per-kernel launch cost). No copies or
     * allocations may happen until {@link #endCapture}.
     */
    abstract void beginCapture();

    /** Ends the recording; returns the replayable graph. */
    abstract Object endCapture();

    /** Queues a whole recorded graph. */
    abstract void launchGraph(Object graph);

    abstract void destroyGraph(Object graph);

    @Override
    public abstract void close();
}
