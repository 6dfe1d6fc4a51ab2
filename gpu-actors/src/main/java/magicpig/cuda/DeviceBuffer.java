package magicpig.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/** One device allocation: its address (what kernels are given) and its size. Freed by close. */
final class DeviceBuffer implements AutoCloseable {
    private final CUdeviceptr ptr;
    final long address;
    final long bytes;
    private boolean freed;

    DeviceBuffer(CUdeviceptr ptr, long address, long bytes) {
        this.ptr = ptr;
        this.address = address;
        this.bytes = bytes;
    }

    /** The driver's handle of the byte at {@code offset}, for copies. */
    CUdeviceptr at(long offset) {
        if (offset < 0 || offset > bytes) throw new IndexOutOfBoundsException("offset " + offset + " outside a buffer of " + bytes + " bytes");
        return offset == 0 ? ptr : ptr.withByteOffset(offset);
    }

    @Override
    public void close() {
        if (freed) return;
        freed = true;
        JCudaDriver.cuMemFree(ptr);
    }
}
