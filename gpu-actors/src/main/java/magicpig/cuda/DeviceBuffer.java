package magicpig.cuda;

/** One device allocation: its address (what kernels are given) and its size. Freed by close. */
final class DeviceBuffer implements AutoCloseable {
    private final Device owner;
    /** The device's own handle of the allocation (JCuda's CUdeviceptr). */
    final Object handle;
    final long address;
    final long bytes;
    private boolean freed;

    DeviceBuffer(Device owner, Object handle, long address, long bytes) {
        this.owner = owner;
        this.handle = handle;
        this.address = address;
        this.bytes = bytes;
    }

    void checkRange(long offset, long n) {
        if (offset < 0 || n < 0 || offset + n > bytes) {
            throw new IndexOutOfBoundsException("bytes [" + offset + ", " + (offset + n) + ") outside a buffer of " + bytes + " bytes");
        }
    }

    @Override
    public void close() {
        if (freed) return;
        freed = true;
        owner.free(this);
    }
}
