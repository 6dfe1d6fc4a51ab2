package magicpig.cuda;

import jcuda.driver.JCudaDriver;

/**
 * Whether this process can use a CUDA GPU: loads JCuda's driver binding (which needs the NVIDIA
 * driver's libcuda.so.1), initializes the driver and counts devices, once. Any failure, of any
 * kind, becomes the reason.
 *
 * @param available true when at least one device is there
 * @param devices   how many
 * @param reason    why not, in one line (null when available)
 */
public record CudaProbe(boolean available, int devices, String reason) {
    private static volatile CudaProbe result;

    /** The probe's result; the first call probes, later ones return the same answer. */
    public static CudaProbe get() {
        CudaProbe r = result;
        if (r == null) {
            synchronized (CudaProbe.class) {
                if (result == null) result = probe();
                r = result;
            }
        }
        return r;
    }

    private static CudaProbe probe() {
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] == 0) return new CudaProbe(false, 0, "the CUDA driver sees no device");
            return new CudaProbe(true, count[0], null);
        } catch (Throwable t) {
            return new CudaProbe(false, 0, reason(t));
        }
    }

    /** One line out of JCuda's (multi-line) loading errors and the driver's error names. */
    static String reason(Throwable t) {
        String all = describeChain(t);
        if (all.contains("libcuda.so")) return "no NVIDIA driver (libcuda.so.1 cannot be loaded)";
        for (String line : all.split("\n")) {
            String s = line.strip();
            if (s.startsWith("java.lang.UnsatisfiedLinkError:") && !s.contains("java.library.path")) return s;
        }
        String first = all.split("\n", 2)[0].strip();
        return first.isEmpty() ? t.getClass().getName() : first;
    }

    private static String describeChain(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (sb.length() > 0) sb.append('\n');
            sb.append(c.getMessage() == null ? c.getClass().getName() : c.getClass().getSimpleName() + ": " + c.getMessage());
        }
        return sb.toString();
    }
}
