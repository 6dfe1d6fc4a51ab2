package magicpig.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import magicpig.model.Generation;
import magicpig.model.Llama;
import magicpig.model.Model;
import magicpig.model.SyntheticModels;
import magicpig.sampling.SamplingSettings;
import magicpig.tensor.FloatKernels;
import magicpig.tensor.GgmlType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The CUDA backend against the CPU on synthetic:tiny; skipped, with the reason, where there is no GPU. */
class CudaBackendTest {

    @BeforeEach
    void needsAGpu() {
        CudaProbe probe = CudaProbe.get();
        assumeTrue(probe.available(), () -> "no CUDA device: " + probe.reason());
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0"})
    void logitsAndGreedyTokensMatchTheCpu(GgmlType type) throws Exception {
        try (Model m = SyntheticModels.create("tiny", type, 42);
             CudaBackend gpu = CudaBackend.open(0, m.config(), m.llama().weights())) {
            int[] prompt = DeviceCheck.promptOf(70, m.config()); // three prefill passes
            try (Llama.Session a = m.llama().newSession(prompt.length + 16, null); CudaSession b = gpu.newSession(prompt.length + 16, null)) {
                float[] la = a.prefill(prompt), lb = b.prefill(prompt);
                for (int step = 0; step < 6; step++) {
                    double[] d = DeviceCheck.diff(la, lb);
                    assertTrue(d[0] <= DeviceCheck.MAX_ABS && d[1] <= DeviceCheck.MAX_REL_L2, "step " + step + ": " + Arrays.toString(d));
                    int token = FloatKernels.argmax(la, la.length);
                    assertEquals(token, FloatKernels.argmax(lb, lb.length), "greedy token of step " + step);
                    int greedy = b.decodeGreedy(token);
                    la = a.decode(token);
                    assertEquals(FloatKernels.argmax(la, la.length), greedy, "device argmax of step " + step);
                    // decodeGreedy advanced b; compare the next logits through a fresh step below
                    lb = b.decode(greedy);
                    la = a.decode(greedy);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "Q8_0"})
    void generationOnTheGpuGivesTheCpusTokens(GgmlType type) throws Exception {
        try (Model m = SyntheticModels.create("tiny", type, 42);
             CudaBackend gpu = CudaBackend.open(0, m.config(), m.llama().weights())) {
            int[] prompt = DeviceCheck.promptOf(12, m.config());
            Generation.Result cpu = Generation.run(m.llama(), m, prompt, 16, SamplingSettings.GREEDY, null, t -> true);
            Generation.Result cuda = Generation.run(gpu, m, prompt, 16, SamplingSettings.GREEDY, null, t -> true);
            assertArrayEquals(cpu.tokens(), cuda.tokens());
            gpu.useGraphs(true);
            Generation.Result graphs = Generation.run(gpu, m, prompt, 16, SamplingSettings.GREEDY, null, t -> true);
            assertArrayEquals(cpu.tokens(), graphs.tokens(), "decode steps replayed as CUDA graphs");
        }
    }
}
