package magicpig.cuda;

import java.util.Locale;
import magicpig.model.ComputeBackend;
import magicpig.model.Model;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks where a model runs, from what the user asked ({@code --backend}, {@code magicpig.backend}):
 * <ul>
 *   <li>{@code cpu}: the model's own forward pass ({@link Model#llama()}).
 *   <li>{@code cuda}: GPU 0 through {@link CudaBackend}; without a usable GPU that is an error
 *       naming why.
 *   <li>{@code auto}: CUDA when the probe finds a GPU and the model's weights have kernels; on any
 *       failure one log line says why and the CPU runs it.
 * </ul>
 */
public final class ComputeBackends {
    private static final Logger log = LoggerFactory.getLogger(ComputeBackends.class);

    private ComputeBackends() {}

    /** The modes {@link #select} takes. */
    public static final String MODES = "auto, cuda or cpu";

    public static ComputeBackend select(String mode, Model model) {
        String m = mode == null ? "auto" : mode.strip().toLowerCase(Locale.ROOT);
        return switch (m) {
            case "cpu" -> model.llama();
            case "cuda" -> {
                CudaProbe probe = CudaProbe.get();
                if (!probe.available()) throw new IllegalStateException("--backend cuda: no usable CUDA device: " + probe.reason());
                try {
                    yield CudaBackend.open(0, model.config(), model.llama().weights());
                } catch (UnsupportedOperationException e) {
                    throw new IllegalArgumentException("--backend cuda: " + e.getMessage());
                } catch (RuntimeException e) {
                    throw new IllegalStateException("--backend cuda: the GPU could not be set up: " + CudaProbe.reason(e));
                }
            }
            case "auto" -> {
                CudaProbe probe = CudaProbe.get();
                if (!probe.available()) {
                    log.info("backend auto: using the CPU, no usable CUDA device: {}", probe.reason());
                    yield model.llama();
                }
                try {
                    yield CudaBackend.open(0, model.config(), model.llama().weights());
                } catch (RuntimeException | LinkageError e) {
                    log.info("backend auto: using the CPU, the CUDA backend could not start: {}", CudaProbe.reason(e));
                    yield model.llama();
                }
            }
            default -> throw new IllegalArgumentException("unknown backend '" + mode + "' (expected " + MODES + ")");
        };
    }
}
