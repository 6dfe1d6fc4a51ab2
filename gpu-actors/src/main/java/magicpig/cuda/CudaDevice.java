package magicpig.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * One GPU through the CUDA driver API (JCuda): its primary context, our kernel modules loaded from
 * the committed PTX, and memory. Every driver call reports failure by a {@code CudaException}.
 * Calls need the context current on the calling thread: {@link #makeCurrent} at each entry.
 */
final class CudaDevice extends Device {
    /** Largest single host-to-device copy (a ByteBuffer view of a segment is limited to 2 GiB). */
    private static final long COPY_CHUNK = 1L << 30;
    private static final Method NATIVE_POINTER;

    static {
        try {
            NATIVE_POINTER = NativePointerObject.class.getDeclaredMethod("getNativePointer");
            NATIVE_POINTER.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int ordinal;
    final int ccMajor, ccMinor;
    final int ptxArch;
    private final CUdevice device;
    private final CUcontext context;
    /** Every launch goes to this stream (blocking: the synchronous copies on the legacy stream order with it). */
    private final CUstream stream = new CUstream();
    private final List<CUmodule> modules = new ArrayList<>();
    private final Map<String, Kernel> kernels = new HashMap<>();
    private boolean closed;

    private CudaDevice(int ordinal, CUdevice device) {
        super(deviceName(device), attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), totalMemory(device));
        this.ordinal = ordinal;
        this.device = device;
        this.ccMajor = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        this.ccMinor = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        // The primary context (the one the runtime API would use): no cuCtxCreate, whose signature
        // changed in CUDA 13.
        this.context = new CUcontext();
        JCudaDriver.cuDevicePrimaryCtxRetain(context, device);
        JCudaDriver.cuCtxSetCurrent(context);
        JCudaDriver.cuStreamCreate(stream, 0);
        PtxResources ptx = PtxResources.load();
        this.ptxArch = ptx.archFor(ccMajor, ccMinor);
        try {
            for (String m : ptx.modules) {
                byte[] text = ptx.text(m, ptxArch).getBytes(StandardCharsets.US_ASCII);
                byte[] z = java.util.Arrays.copyOf(text, text.length + 1); // NUL-terminated
                CUmodule module = new CUmodule();
                JCudaDriver.cuModuleLoadData(module, z);
                modules.add(module);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Opens a device: initializes the driver, retains its primary context, JIT-loads the kernels. */
    static CudaDevice open(int ordinal) {
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuInit(0);
        int[] count = new int[1];
        JCudaDriver.cuDeviceGetCount(count);
        if (count[0] == 0) throw new IllegalStateException("the CUDA driver sees no device");
        if (ordinal < 0 || ordinal >= count[0]) throw new IllegalArgumentException("no CUDA device " + ordinal + " (" + count[0] + " present)");
        CUdevice device = new CUdevice();
        JCudaDriver.cuDeviceGet(device, ordinal);
        return new CudaDevice(ordinal, device);
    }

    private static String deviceName(CUdevice device) {
        byte[] nameBytes = new byte[256];
        JCudaDriver.cuDeviceGetName(nameBytes, nameBytes.length, device);
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        return new String(nameBytes, 0, len, StandardCharsets.US_ASCII);
    }

    private static long totalMemory(CUdevice device) {
        long[] mem = new long[1];
        JCudaDriver.cuDeviceTotalMem(mem, device);
        return mem[0];
    }

    private static int attribute(CUdevice device, int attribute) {
        int[] v = new int[1];
        JCudaDriver.cuDeviceGetAttribute(v, attribute, device);
        return v[0];
    }

    @Override
    String describe() {
        return "cuda:" + ordinal + " " + name + " (compute " + ccMajor + "." + ccMinor + ", " + multiprocessors + " SMs, "
                + (totalMemory >> 20) + " MiB, PTX compute_" + ptxArch + ")";
    }

    @Override
    void makeCurrent() {
        JCudaDriver.cuCtxSetCurrent(context);
    }

    @Override
    Kernel kernel(String name) {
        Kernel k = kernels.get(name);
        if (k != null) return k;
        for (CUmodule m : modules) {
            CUfunction f = new CUfunction();
            JCudaDriver.setExceptionsEnabled(false);
            int r;
            try {
                r = JCudaDriver.cuModuleGetFunction(f, m, name);
            } finally {
                JCudaDriver.setExceptionsEnabled(true);
            }
            if (r == CUresult.CUDA_SUCCESS) {
                k = new Kernel(this, name, f);
                kernels.put(name, k);
                return k;
            }
        }
        throw new IllegalStateException("no kernel '" + name + "' in the loaded PTX modules");
    }

    @Override
    void launch(Kernel k, int gridX, int gridY, int block, int sharedBytes) {
        JCudaDriver.cuLaunchKernel((CUfunction) k.handle, gridX, gridY, 1, block, 1, 1, sharedBytes, stream, k.jcudaParams(), null);
    }

    @Override
    void beginCapture() {
        JCudaDriver.cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    }

    @Override
    Object endCapture() {
        CUgraph graph = new CUgraph();
        JCudaDriver.cuStreamEndCapture(stream, graph);
        try {
            CUgraphExec exec = new CUgraphExec();
            JCudaDriver.cuGraphInstantiate(exec, graph, 0);
            return exec;
        } finally {
            JCudaDriver.cuGraphDestroy(graph);
        }
    }

    @Override
    void launchGraph(Object graph) {
        JCudaDriver.cuGraphLaunch((CUgraphExec) graph, stream);
    }

    @Override
    void destroyGraph(Object graph) {
        JCudaDriver.cuGraphExecDestroy((CUgraphExec) graph);
    }

    @Override
    DeviceBuffer allocate(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        JCudaDriver.cuMemAlloc(p, Math.max(bytes, 16));
        try {
            return new DeviceBuffer(this, p, (long) NATIVE_POINTER.invoke(p), bytes);
        } catch (ReflectiveOperationException e) {
            JCudaDriver.cuMemFree(p);
            throw new IllegalStateException("cannot read a device pointer from JCuda", e);
        }
    }

    @Override
    void free(DeviceBuffer b) {
        JCudaDriver.cuMemFree((CUdeviceptr) b.handle);
    }

    /** The driver's handle of byte {@code offset} of a buffer, for copies of n bytes. */
    private static CUdeviceptr at(DeviceBuffer b, long offset, long n) {
        b.checkRange(offset, n);
        CUdeviceptr p = (CUdeviceptr) b.handle;
        return offset == 0 ? p : p.withByteOffset(offset);
    }

    @Override
    long[] memoryInfo() {
        long[] free = new long[1], total = new long[1];
        JCudaDriver.cuMemGetInfo(free, total);
        return new long[] {free[0], total[0]};
    }

    @Override
    void upload(DeviceBuffer dst, long dstOffset, MemorySegment src, long bytes) {
        for (long done = 0; done < bytes; done += COPY_CHUNK) {
            long n = Math.min(COPY_CHUNK, bytes - done);
            ByteBuffer view = src.asSlice(done, n).asByteBuffer();
            JCudaDriver.cuMemcpyHtoD(at(dst, dstOffset + done, n), Pointer.to(view), n);
        }
    }

    @Override
    void upload(DeviceBuffer dst, long dstOffset, float[] src, int off, int n) {
        JCudaDriver.cuMemcpyHtoD(at(dst, dstOffset, 4L * n), Pointer.to(src).withByteOffset(4L * off), 4L * n);
    }

    @Override
    void upload(DeviceBuffer dst, long dstOffset, ByteBuffer direct, long bytes) {
        JCudaDriver.cuMemcpyHtoD(at(dst, dstOffset, bytes), Pointer.to(direct), bytes);
    }

    @Override
    void upload(DeviceBuffer dst, long dstOffset, double[] src) {
        JCudaDriver.cuMemcpyHtoD(at(dst, dstOffset, 8L * src.length), Pointer.to(src), 8L * src.length);
    }

    @Override
    void download(float[] dst, int off, DeviceBuffer src, long srcOffset, int n) {
        JCudaDriver.cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * off), at(src, srcOffset, 4L * n), 4L * n);
    }

    @Override
    void download(int[] dst, int off, DeviceBuffer src, long srcOffset, int n) {
        JCudaDriver.cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * off), at(src, srcOffset, 4L * n), 4L * n);
    }

    @Override
    void download(short[] dst, int off, DeviceBuffer src, long srcOffset, int n) {
        JCudaDriver.cuMemcpyDtoH(Pointer.to(dst).withByteOffset(2L * off), at(src, srcOffset, 2L * n), 2L * n);
    }

    @Override
    void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes) {
        JCudaDriver.cuMemcpyDtoD(at(dst, dstOffset, bytes), at(src, srcOffset, bytes), bytes);
    }

    @Override
    void synchronize() {
        JCudaDriver.cuCtxSynchronize();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        makeCurrent();
        JCudaDriver.cuStreamDestroy(stream);
        for (CUmodule m : modules) JCudaDriver.cuModuleUnload(m);
        modules.clear();
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
